"""Settings of the delivery step: the table, the bucket (attachments), our mailboxes and the
hosts a channel's provider client may reach though not public (local testing)."""

from __future__ import annotations

from helpdesk.aws.environment import MailSettings, SendingSettings


class Settings(MailSettings, SendingSettings):
    pass
