"""The API's settings: the helpdesk's table, the bucket with the attachments, and the hosts
a webhook subscription may name though not public (local testing)."""

from __future__ import annotations

from helpdesk.aws.environment import FileSettings, SendingSettings


class Settings(FileSettings, SendingSettings):
    pass
