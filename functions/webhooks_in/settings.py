"""Settings of the providers' webhooks: the helpdesk's table (channel secrets come from
Parameter Store under SECRETS_PREFIX)."""

from __future__ import annotations

from helpdesk.aws.environment import DeskSettings


class Settings(DeskSettings):
    pass
