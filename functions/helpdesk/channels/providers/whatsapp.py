"""WhatsApp Cloud API webhooks (`object: whatsapp_business_account`): messages from customers
and statuses of the messages we sent, batched in entry[].changes[].value."""

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
from helpdesk.channels.providers import meta
from helpdesk.channels.providers.common import (
    Json,
    from_unix,
    items,
    location_ref,
    obj,
    parse_object,
    payload_shape,
    phone,
    shared_contact,
    text,
)

FILE_KINDS = {
    "image": "photo",
    "video": "video",
    "audio": "audio",
    "document": "document",
    "sticker": "sticker",
}
STATUSES = {"delivered", "read", "failed"}


def handle(secrets: ChannelSecrets, request: WebhookRequest, now: datetime) -> WebhookResult:
    answer = meta.handshake(secrets, request)
    if answer:
        return answer
    meta.verify_signature(secrets, request)
    payload = parse_object(request.body)
    with payload_shape("WhatsApp"):
        return WebhookResult(events=tuple(_events(payload, secrets)), body=meta.RECEIVED)


def _events(payload: Json, secrets: ChannelSecrets) -> list[ChannelEvent]:
    if payload.get("object") != "whatsapp_business_account":
        return [
            Ignored(
                event_id="wa:object", reason=f"object {payload.get('object')!r} is not WhatsApp"
            )
        ]
    events: list[ChannelEvent] = []
    for entry in items(payload["entry"]):
        for change in items(entry.get("changes")):
            value = obj(change.get("value"))
            number = text(obj(value.get("metadata")).get("phone_number_id"))
            where = f"wa:{text(entry.get('id'))}:{text(change.get('field'))}"
            if change.get("field") != "messages":
                events.append(
                    Ignored(event_id=where, reason=f"field {change.get('field')} is not handled")
                )
            elif secrets.account_id and number != secrets.account_id:
                # One app may serve several numbers; each channel takes only its own.
                events.append(
                    Ignored(
                        event_id=where, reason=f"for phone number id {number}, not this channel"
                    )
                )
            else:
                names = {
                    text(c.get("wa_id")): text(obj(c.get("profile")).get("name"))
                    for c in items(value.get("contacts"))
                }
                events += [_message(m, names) for m in items(value.get("messages"))]
                events += [_status(s) for s in items(value.get("statuses"))]
    return events


def _message(message: Json, names: dict[str, str]) -> ChannelEvent:
    event_id = f"wa:{text(message['id'])}"
    kind = text(message.get("type"))
    body, media = _content(kind, message)
    if body is None:
        return Ignored(event_id=event_id, reason=f"WhatsApp message type {kind} is not handled")
    author = text(message["from"])
    extra = {"reply_to": text(obj(message.get("context")).get("id")), "message_type": kind}
    return ChannelMessage(
        event_id=event_id,
        conversation=author,
        sender=Sender(external_id=author, name=names.get(author, ""), phone=phone(author)),
        text=body,
        provider_message_id=text(message["id"]),
        media=media,
        sent_at=from_unix(message.get("timestamp")),
        extra={key: value for key, value in extra.items() if value},
    )


def _content(kind: str, message: Json) -> tuple[str | None, tuple[Media, ...]]:
    """Text and media of a message; None text for types we do not take (reactions...)."""
    part = obj(message.get(kind))
    if kind == "text":
        return text(part["body"]), ()
    if kind in FILE_KINDS:
        media = Media(
            kind="voice" if kind == "audio" and part.get("voice") else FILE_KINDS[kind],
            file_ref=text(part["id"]),  # a media id: GET /<id> gives a short-lived URL
            name=text(part.get("filename")),
            content_type=text(part.get("mime_type")),
        )
        return text(part.get("caption")), (media,)
    if kind == "location":
        ref = location_ref(part["latitude"], part["longitude"])
        label = ", ".join(text(part.get(key)) for key in ("name", "address") if part.get(key))
        return label, (Media(kind="location", file_ref=ref),)
    if kind == "contacts":  # cards the customer shared: other people, so text for the agent
        return "\n".join(_card(card) for card in items(message.get("contacts"))), ()
    if kind == "interactive":  # a tap on our reply button or list row
        reply = obj(part.get("button_reply")) or obj(part.get("list_reply"))
        return text(reply.get("title")), ()
    if kind == "button":  # a tap on a template's quick-reply button
        return text(part.get("text")), ()
    return None, ()


def _status(status: Json) -> ChannelEvent:
    name = text(status["status"])
    event_id = f"wa:{text(status['id'])}:{name}"
    if name not in STATUSES:
        # "sent" only says WhatsApp accepted it, which the send call already told us.
        return Ignored(event_id=event_id, reason=f"WhatsApp status {name} is not tracked")
    reason = "; ".join(_error(error) for error in items(status.get("errors")))
    return StatusUpdate(
        event_id=event_id, provider_message_id=text(status["id"]), status=name, reason=reason
    )


def _card(card: Json) -> str:
    numbers = items(card.get("phones"))
    number = text(numbers[0].get("phone")) if numbers else ""
    return shared_contact(text(obj(card.get("name")).get("formatted_name")), number)


def _error(error: Json) -> str:
    """`131047 Re-engagement message <details>`: code first, as Meta's docs index them."""
    details = text(obj(error.get("error_data")).get("details"))
    return " ".join(p for p in (text(error.get("code")), text(error.get("title")), details) if p)
