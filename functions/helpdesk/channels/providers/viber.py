"""Viber REST Bot API callbacks: `X-Viber-Content-Signature` is the hex HMAC-SHA256 of the raw
body keyed with the bot's auth token."""

from __future__ import annotations

from datetime import datetime

from helpdesk.channels.events import (
    ChannelEvent,
    ChannelMessage,
    ChannelSecrets,
    Ignored,
    Media,
    Sender,
    StatusUpdate,
    WebhookRequest,
    WebhookResult,
)
from helpdesk.channels.providers.common import (
    Json,
    check_hex_signature,
    configured,
    from_unix,
    header,
    location_ref,
    obj,
    parse_object,
    payload_shape,
    require_method,
    shared_contact,
    size,
    text,
)

SIGNATURE_HEADER = "X-Viber-Content-Signature"
STATUSES = {"delivered": "delivered", "seen": "read", "failed": "failed"}
FILE_KINDS = {"picture": "photo", "video": "video", "file": "document", "sticker": "sticker"}


def handle(secrets: ChannelSecrets, request: WebhookRequest, now: datetime) -> WebhookResult:
    require_method(request, "POST")
    token = configured(secrets.token, "Viber auth token")
    check_hex_signature(header(request, SIGNATURE_HEADER), token, request.body, SIGNATURE_HEADER)
    payload = parse_object(request.body)
    with payload_shape("Viber"):
        event = text(payload["event"])
        if event == "webhook":  # set_webhook's test call: answering 200 is all it wants
            return WebhookResult()
        return WebhookResult(events=(_event(event, payload),))


def _event(event: str, payload: Json) -> ChannelEvent:
    # message_token is a 64-bit integer; Python's json keeps every digit (JavaScript would not).
    token = text(payload["message_token"])
    if event == "message":
        return _message(f"viber:{token}", token, payload)
    if event in STATUSES:
        return StatusUpdate(
            event_id=f"viber:{token}:{event}",
            provider_message_id=token,
            status=STATUSES[event],
            reason=text(payload.get("desc")),
        )
    return Ignored(event_id=f"viber:{token}:{event}", reason=f"Viber event {event} is not handled")


def _message(event_id: str, token: str, payload: Json) -> ChannelMessage:
    author = obj(payload["sender"])
    message = obj(payload["message"])
    kind = text(message.get("type"))
    body = text(message.get("text"))
    media: list[Media] = []
    if kind in FILE_KINDS and message.get("media"):
        media.append(
            Media(
                kind=FILE_KINDS[kind],
                file_ref=text(message["media"]),
                name=text(message.get("file_name")),
                size=size(message.get("size")),
            )
        )
    elif kind == "location":
        place = obj(message["location"])
        media.append(Media(kind="location", file_ref=location_ref(place["lat"], place["lon"])))
    elif kind == "url":
        # A shared link is something to read, not a file to fetch.
        body = body or text(message.get("media"))
    elif kind == "contact":
        # Viber cannot tell the user's own number from someone else's card: keep it as text.
        card = obj(message["contact"])
        body = body or shared_contact(text(card.get("name")), card.get("phone_number"))
    extra = {
        "message_type": kind,
        "country": text(author.get("country")),
        "tracking_data": text(message.get("tracking_data")),
    }
    return ChannelMessage(
        event_id=event_id,
        conversation=text(author["id"]),
        sender=Sender(
            external_id=text(author["id"]),
            name=text(author.get("name")),
            language=text(author.get("language")),
        ),
        text=body,
        provider_message_id=token,
        media=tuple(media),
        sent_at=from_unix(payload.get("timestamp"), millis=True),
        extra={key: value for key, value in extra.items() if value},
    )
