"""Settings of the search indexer: the table it keeps the token index of."""

from __future__ import annotations

from helpdesk.aws.environment import DeskSettings


class Settings(DeskSettings):
    pass
