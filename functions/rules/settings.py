"""Settings of the rules step: the helpdesk's table."""

from __future__ import annotations

from helpdesk.aws.environment import DeskSettings


class Settings(DeskSettings):
    pass
