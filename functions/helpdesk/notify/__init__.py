"""Staff notifications (email, Telegram bot message, Slack incoming webhook), sent once per
key by the ticket_event workflow's fan-out."""
