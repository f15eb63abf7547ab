"""An integration's webhook subscription: its URL and the ticket events it wants."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from helpdesk.inputs import HttpUrl
from helpdesk.models import Model, utcnow

# Ticket event kinds an integration can subscribe to ("*" is every one).
EVENT_TYPES = ("*", "created", "updated", "post_added", "comment_added", "post_updated",
               "comment_updated", "post_deleted", "comment_deleted", "trashed", "restored",
               "post_edited_by_author", "post_deleted_by_author", "sla_warning", "sla_breach",
               "sla_retimed")


class Subscription(Model):
    id: int
    url: str
    event_types: list[str] = Field(default_factory=lambda: ["*"])
    enabled: bool = True
    secret_hint: str = ""
    description: str = ""
    date_created: datetime = Field(default_factory=utcnow)
    date_updated: datetime = Field(default_factory=utcnow)
    version: int = 0

    def wants(self, event_kind: str) -> bool:
        return self.enabled and ("*" in self.event_types or event_kind in self.event_types)


class _Input(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    @field_validator("event_types", check_fields=False)
    @classmethod
    def _known_events(cls, value: list[str] | None) -> list[str] | None:
        unknown = [kind for kind in value or [] if kind not in EVENT_TYPES]
        if unknown:
            raise ValueError(f"unknown event types {unknown}; use {', '.join(EVENT_TYPES)}")
        return value


class SubscriptionCreate(_Input):
    url: HttpUrl = Field(max_length=2000)
    event_types: list[str] = Field(default_factory=lambda: ["*"], min_length=1,
                                   max_length=len(EVENT_TYPES))
    secret: str | None = Field(default=None, min_length=16, max_length=256)
    description: str = Field(default="", max_length=500)


class SubscriptionUpdate(_Input):
    url: HttpUrl | None = Field(default=None, max_length=2000)
    event_types: list[str] | None = Field(default=None, min_length=1,
                                          max_length=len(EVENT_TYPES))
    secret: str | None = Field(default=None, min_length=16, max_length=256)
    enabled: bool | None = None
    description: str | None = Field(default=None, max_length=500)
