"""Settings of the outbound webhook sender: the helpdesk's table (subscriptions, breaker,
dead letters) and the hosts it may reach though not public (local testing)."""

from __future__ import annotations

from helpdesk.aws.environment import DeskSettings, SendingSettings


class Settings(DeskSettings, SendingSettings):
    pass
