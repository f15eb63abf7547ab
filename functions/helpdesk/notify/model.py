"""A staff notification as rules produce it (an effect of a ticket event)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Notification(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    key: Annotated[str, Field(min_length=1, max_length=200)]  # sends once per key
    kind: Literal["email", "telegram", "slack"]
    to: list[str] = Field(default_factory=list)  # addresses; a Telegram chat id
    subject: str = ""
    text: Annotated[str, Field(min_length=1, max_length=20_000)]
    channel_id: int | None = None  # telegram: our Telegram channel whose bot sends it
    url: str | None = None  # slack: the incoming-webhook URL

    @model_validator(mode="after")
    def _fits_kind(self) -> Notification:
        if self.kind == "email" and not (self.to and all("@" in a for a in self.to)):
            raise ValueError("an email notification needs at least one address")
        if self.kind == "telegram" and (self.channel_id is None or len(self.to) != 1):
            raise ValueError("a Telegram notification needs channel_id and one chat id")
        if self.kind == "slack" and not (self.url or "").startswith(("https://", "http://")):
            raise ValueError("a Slack notification needs the incoming-webhook url")
        return self
