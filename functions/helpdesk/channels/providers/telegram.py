"""Telegram Bot API webhooks: the `X-Telegram-Bot-Api-Secret-Token` header set with
`setWebhook(secret_token=...)`, one Update object per request."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from helpdesk.channels.events import (
    ChannelEvent,
    ChannelMessage,
    ChannelSecrets,
    Ignored,
    Media,
    MessageEdited,
    Sender,
    WebhookRequest,
    WebhookResult,
)
from helpdesk.channels.providers.common import (
    Json,
    check_secret,
    configured,
    from_unix,
    header,
    items,
    location_ref,
    obj,
    parse_object,
    payload_shape,
    phone,
    require_method,
    shared_contact,
    size,
    text,
)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"

# Fields of Message holding one file object each, and the kind we file them under.
# `animation` is left out: Telegram sends the same file again as `document`.
FILE_FIELDS = {
    "document": "document",
    "audio": "audio",
    "video": "video",
    "video_note": "video",
    "voice": "voice",
    "sticker": "sticker",
}


def handle(secrets: ChannelSecrets, request: WebhookRequest, now: datetime) -> WebhookResult:
    require_method(request, "POST")
    expected = configured(secrets.webhook_secret, "Telegram secret_token")
    check_secret(header(request, SECRET_HEADER), expected, f"{SECRET_HEADER} header")
    update = parse_object(request.body)
    with payload_shape("Telegram"):
        return WebhookResult(events=(_event(update),))


def _event(update: Json) -> ChannelEvent:
    update_id = update["update_id"]
    if not isinstance(update_id, int):
        raise ValueError("update_id is not an integer")
    event_id = f"tg:{update_id}"
    if "message" in update:
        return _message(event_id, obj(update["message"]))
    if "edited_message" in update:
        edited = obj(update["edited_message"])
        return MessageEdited(
            event_id=event_id,
            conversation=text(obj(edited["chat"])["id"]),
            provider_message_id=text(edited["message_id"]),
            text=text(edited.get("text") or edited.get("caption")),
        )
    kind = next((key for key in update if key != "update_id"), "empty")
    return Ignored(event_id=event_id, reason=f"Telegram update type {kind} is not handled")


def _message(event_id: str, message: Json) -> ChannelMessage:
    chat = obj(message["chat"])
    author = obj(message.get("from")) or obj(message.get("sender_chat")) or chat
    sender = Sender(
        external_id=text(author["id"]),
        name=" ".join(
            part for part in (text(author.get("first_name")), text(author.get("last_name"))) if part
        )
        or text(author.get("title")),
        username=text(author.get("username")),
        language=text(author.get("language_code")),
    )
    body = text(message.get("text") or message.get("caption"))
    contact = obj(message.get("contact"))
    if contact:
        if text(contact.get("user_id")) == sender.external_id:
            # The user shared their own number (request_contact button): it identifies them.
            sender = replace(sender, phone=phone(contact.get("phone_number")))
        else:
            name = f"{text(contact.get('first_name'))} {text(contact.get('last_name'))}"
            body = body or shared_contact(name, contact.get("phone_number"))
    extra = {"chat_type": text(chat.get("type"))}
    reply_to = obj(message.get("reply_to_message"))
    if reply_to:
        extra["reply_to"] = text(reply_to.get("message_id"))
    return ChannelMessage(
        event_id=event_id,
        conversation=text(chat["id"]),
        sender=sender,
        text=body,
        provider_message_id=text(message["message_id"]),
        media=_media(message),
        sent_at=from_unix(message.get("date")),
        extra={key: value for key, value in extra.items() if value},
    )


def _media(message: Json) -> tuple[Media, ...]:
    found: list[Media] = []
    photos = items(message.get("photo"))
    if photos:
        # PhotoSize list: the same picture in several sizes; keep the largest one.
        best = max(photos, key=lambda p: (size(p.get("width")) or 0) * (size(p.get("height")) or 0))
        found.append(
            Media(kind="photo", file_ref=text(best["file_id"]), size=size(best.get("file_size")))
        )
    for field, kind in FILE_FIELDS.items():
        file = obj(message.get(field))
        if file:
            found.append(
                Media(
                    kind=kind,
                    file_ref=text(file["file_id"]),
                    name=text(file.get("file_name")),
                    content_type=text(file.get("mime_type")),
                    size=size(file.get("file_size")),
                )
            )
    place = obj(message.get("location")) or obj(obj(message.get("venue")).get("location"))
    if place:
        found.append(
            Media(kind="location", file_ref=location_ref(place["latitude"], place["longitude"]))
        )
    return tuple(found)
