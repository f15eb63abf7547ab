"""The API's settings: the helpdesk's table and the bucket with the attachments."""

from __future__ import annotations

from helpdesk.aws.environment import FileSettings


class Settings(FileSettings):
    pass
