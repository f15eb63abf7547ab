"""A channel an admin connected: a Telegram bot, a VK community, a WhatsApp number, ..."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from helpdesk.channels.events import ChannelSecrets
from helpdesk.inputs import HttpUrl
from helpdesk.models import Model, utcnow

# Providers that push webhooks, plus our own web/phone entry points.
WEBHOOK_TYPES = ("telegram", "vk", "whatsapp", "viber", "facebook", "instagram", "custom")
CHANNEL_TYPES = (*WEBHOOK_TYPES, "webchat", "form", "phone")
SECRET_FIELDS = tuple(ChannelSecrets.__dataclass_fields__)


class ChannelOptions(Model):
    reopen_days: int = Field(default=7, ge=0, le=3650)  # later messages start a new ticket
    sender_name: str = Field(default="Support", max_length=100)
    api_base_url: str | None = None  # the provider's API (a proxy, or a fake in tests)


class Channel(Model):
    id: int
    type: str
    name: str
    department_id: int | None = None
    enabled: bool = True
    options: ChannelOptions = Field(default_factory=ChannelOptions)
    secret_hints: dict[str, str] = Field(default_factory=dict)  # masked: "…a1b2"
    date_created: datetime = Field(default_factory=utcnow)
    date_updated: datetime = Field(default_factory=utcnow)
    version: int = 0

    @property
    def webhook_path(self) -> str:
        return f"/webhooks/{self.type}/{self.id}"


def hint(secret: str) -> str:
    """Enough to tell two secrets apart, never enough to use one."""
    return "…" + secret[-4:] if len(secret) >= 12 else "…"


class _Input(BaseModel):
    # Unknown top-level fields are ignored as everywhere in the API; a misspelled secret or
    # option name is an error, since ignoring it would leave the channel half-configured.
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class _Strict(_Input):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class OptionsInput(_Strict):
    reopen_days: int | None = Field(default=None, ge=0, le=3650)
    sender_name: str | None = Field(default=None, max_length=100)
    api_base_url: HttpUrl | None = Field(default=None, max_length=500)

    @field_validator("api_base_url")
    @classmethod
    def _without_trailing_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value


class SecretsInput(_Strict):
    token: str | None = Field(default=None, max_length=2000)
    webhook_secret: str | None = Field(default=None, max_length=256)
    app_secret: str | None = Field(default=None, max_length=256)
    verify_token: str | None = Field(default=None, max_length=256)
    confirmation: str | None = Field(default=None, max_length=256)
    account_id: str | None = Field(default=None, max_length=256)

    def given(self) -> dict[str, str]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


class ChannelCreate(_Input):
    type: str = Field(json_schema_extra={"enum": list(CHANNEL_TYPES)})
    name: str = Field(min_length=1, max_length=200)
    department_id: int | None = Field(default=None, gt=0)
    options: OptionsInput = Field(default_factory=OptionsInput)
    secrets: SecretsInput = Field(default_factory=SecretsInput)

    @field_validator("type")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in CHANNEL_TYPES:
            raise ValueError(f"must be one of {', '.join(CHANNEL_TYPES)}")
        return value


class ChannelUpdate(_Input):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    department_id: int | None = Field(default=None, gt=0)
    enabled: bool | None = None
    options: OptionsInput | None = None
    secrets: SecretsInput | None = None


def merged_options(current: ChannelOptions, given: OptionsInput | None) -> ChannelOptions:
    changes: dict[str, Any] = given.model_dump(exclude_none=True) if given else {}
    return current.model_copy(update=changes)
