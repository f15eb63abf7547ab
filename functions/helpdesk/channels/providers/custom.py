"""Our own webhook format for anything without a provider module (a site form, a CRM, a bot
framework). Signed like Stripe/Slack: HMAC-SHA256 over `<timestamp>.<raw body>`, so a captured
request cannot be replayed with a fresh timestamp, and old ones fall out of a 5-minute window."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from helpdesk.channels.events import (
    ChannelEvent,
    ChannelMessage,
    ChannelSecrets,
    Media,
    MessageDeleted,
    MessageEdited,
    Sender,
    WebhookRequest,
    WebhookResult,
)
from helpdesk.channels.providers.common import (
    check_hex_signature,
    configured,
    header,
    hmac_sha256_hex,
    parse_object,
    require_method,
    utf8,
)
from helpdesk.errors import Forbidden, InvalidInput, invalid_input

TIMESTAMP_HEADER = "X-Helpdesk-Timestamp"
SIGNATURE_HEADER = "X-Helpdesk-Signature"
REPLAY_WINDOW_SECONDS = 300

NonEmpty = Annotated[str, Field(min_length=1)]


def sign_custom(secret: str, timestamp: int | str, body: bytes) -> str:
    """The X-Helpdesk-Signature value for a body sent at `timestamp` (unix seconds)."""
    return "sha256=" + hmac_sha256_hex(secret, utf8(f"{timestamp}.") + body)


class _Model(BaseModel):
    # Integrators send ids as numbers as often as strings; both mean the same id.
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, coerce_numbers_to_str=True)


class CustomSender(_Model):
    id: NonEmpty
    name: str = ""
    email: str = ""
    phone: str = ""


class CustomAttachment(_Model):
    url: NonEmpty
    name: str = ""
    content_type: str = ""
    size: int | None = None


class CustomEvent(_Model):
    id: NonEmpty
    type: Literal["message", "edit", "delete"] = "message"
    conversation: NonEmpty
    sender: CustomSender | None = None
    text: str = ""
    attachments: list[CustomAttachment] = []
    message_id: str = ""


def handle(secrets: ChannelSecrets, request: WebhookRequest, now: datetime) -> WebhookResult:
    require_method(request, "POST")
    key = configured(secrets.webhook_secret, "webhook secret")
    stamp = header(request, TIMESTAMP_HEADER)
    scheme, _, signature = header(request, SIGNATURE_HEADER).partition("=")
    if scheme.strip().lower() != "sha256" or not signature:
        raise Forbidden(f"{SIGNATURE_HEADER} must look like sha256=<hex digest>")
    check_hex_signature(signature.strip(), key, utf8(f"{stamp}.") + request.body, SIGNATURE_HEADER)
    if not re.fullmatch(r"[0-9]{1,12}", stamp):
        raise Forbidden(f"{TIMESTAMP_HEADER} must be unix seconds, got {stamp!r}")
    sent = int(stamp)
    if abs(now.timestamp() - sent) > REPLAY_WINDOW_SECONDS:
        raise Forbidden(
            f"{TIMESTAMP_HEADER} {sent} is outside the replay window of "
            f"{REPLAY_WINDOW_SECONDS} s; sign each request with the current time"
        )
    event = _validate(parse_object(request.body))
    return WebhookResult(
        events=(_normalize(event),),
        body=json.dumps({"ok": True}),
        content_type="application/json",
    )


def _validate(payload: dict[str, object]) -> CustomEvent:
    try:
        event = CustomEvent.model_validate(payload)
    except ValidationError as exc:
        raise invalid_input(exc) from None
    # Which fields a type needs depends on the type: checked here to name the field.
    if event.type == "message" and event.sender is None:
        raise InvalidInput("sender: required for a message", field="sender")
    if event.type != "message" and not event.message_id:
        raise InvalidInput(f"message_id: required for {event.type}", field="message_id")
    return event


def _normalize(event: CustomEvent) -> ChannelEvent:
    event_id = f"custom:{event.id}"
    if event.type == "edit":
        return MessageEdited(
            event_id=event_id,
            conversation=event.conversation,
            provider_message_id=event.message_id,
            text=event.text,
        )
    if event.type == "delete":
        return MessageDeleted(
            event_id=event_id, conversation=event.conversation, provider_message_id=event.message_id
        )
    assert event.sender is not None  # the model refuses a message without one
    return ChannelMessage(
        event_id=event_id,
        conversation=event.conversation,
        sender=Sender(
            external_id=event.sender.id,
            name=event.sender.name,
            email=event.sender.email,
            phone=event.sender.phone,
        ),
        text=event.text,
        provider_message_id=event.message_id or event.id,
        media=tuple(
            Media(
                kind=_kind(item.content_type),
                file_ref=item.url,
                name=item.name,
                content_type=item.content_type,
                size=item.size,
            )
            for item in event.attachments
        ),
    )


def _kind(content_type: str) -> str:
    major = content_type.partition("/")[0].lower()
    return {"image": "photo", "audio": "audio", "video": "video"}.get(major, "document")
