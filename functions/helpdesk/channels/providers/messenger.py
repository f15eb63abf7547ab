"""Messenger Platform webhooks for Facebook Pages (`object: page`) and Instagram messaging
(`object: instagram`): entry[].messaging[] events, one person-to-page event each."""

from __future__ import annotations

from datetime import datetime

from helpdesk.channels.events import (
    ChannelEvent,
    ChannelMessage,
    ChannelSecrets,
    Ignored,
    Media,
    MessageDeleted,
    MessageEdited,
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
    text,
)

# channel type -> (webhook `object`, event id prefix)
PLATFORMS = {"facebook": ("page", "fb"), "instagram": ("instagram", "ig")}
FILE_KINDS = {"image": "photo", "video": "video", "audio": "audio", "file": "document"}


def handle_facebook(
    secrets: ChannelSecrets, request: WebhookRequest, now: datetime
) -> WebhookResult:
    return _handle("facebook", secrets, request)


def handle_instagram(
    secrets: ChannelSecrets, request: WebhookRequest, now: datetime
) -> WebhookResult:
    return _handle("instagram", secrets, request)


def _handle(platform: str, secrets: ChannelSecrets, request: WebhookRequest) -> WebhookResult:
    answer = meta.handshake(secrets, request)
    if answer:
        return answer
    meta.verify_signature(secrets, request)
    payload = parse_object(request.body)
    with payload_shape(platform.capitalize()):
        return WebhookResult(events=tuple(_events(platform, payload, secrets)), body=meta.RECEIVED)


def _events(platform: str, payload: Json, secrets: ChannelSecrets) -> list[ChannelEvent]:
    expected, prefix = PLATFORMS[platform]
    if payload.get("object") != expected:
        return [
            Ignored(
                event_id=f"{prefix}:object",
                reason=f"object {payload.get('object')!r} is not {expected}",
            )
        ]
    events: list[ChannelEvent] = []
    for entry in items(payload["entry"]):
        account = text(entry.get("id"))
        where = f"{prefix}:{account}:{text(entry.get('time'))}"
        if secrets.account_id and account != secrets.account_id:
            events.append(
                Ignored(event_id=where, reason=f"for account {account}, not this channel")
            )
            continue
        for event in items(entry.get("messaging")):
            events += _event(prefix, event)
        if entry.get("standby"):
            # Another app (the page inbox, a bot) owns the conversation: it answers, not us.
            events.append(
                Ignored(
                    event_id=f"{where}:standby", reason="standby: conversation owned by another app"
                )
            )
    return events


def _event(prefix: str, event: Json) -> list[ChannelEvent]:
    person = text(obj(event["sender"])["id"])
    if "message" in event:
        return [_message(prefix, person, event)]
    if "message_edit" in event:
        edit = obj(event["message_edit"])
        mid = text(edit["mid"])
        # Each edit of a message is its own delivery: num_edit keeps their keys apart.
        serial = text(edit.get("num_edit")) or text(event.get("timestamp"))
        return [
            MessageEdited(
                event_id=f"{prefix}:{mid}:edit:{serial}",
                conversation=person,
                provider_message_id=mid,
                text=text(edit.get("text")),
            )
        ]
    # Receipts name messages by mid; a watermark-only one ("all before T") cannot be matched.
    receipt = obj(event.get("delivery")) or obj(event.get("read"))
    listed = receipt.get("mids") or [receipt.get("mid")]  # Instagram's read names one mid
    mids = [text(mid) for mid in listed if mid]
    if mids:
        status = "delivered" if "delivery" in event else "read"
        return [
            StatusUpdate(
                event_id=f"{prefix}:{mid}:{status}", provider_message_id=mid, status=status
            )
            for mid in mids
        ]
    kind = next((key for key in event if key not in {"sender", "recipient", "timestamp"}), "empty")
    reason = f"messaging event {kind} is not handled"
    if kind in {"delivery", "read"}:
        reason = f"{kind} receipt by watermark only, no message ids"
    return [
        Ignored(event_id=f"{prefix}:{person}:{text(event.get('timestamp'))}:{kind}", reason=reason)
    ]


def _message(prefix: str, person: str, event: Json) -> ChannelEvent:
    message = obj(event["message"])
    mid = text(message["mid"])
    if message.get("is_echo"):
        return Ignored(event_id=f"{prefix}:{mid}", reason="echo of a message the page sent")
    if message.get("is_deleted"):  # the customer unsent it
        return MessageDeleted(
            event_id=f"{prefix}:{mid}:deleted", conversation=person, provider_message_id=mid
        )
    if message.get("is_unsupported"):
        return Ignored(
            event_id=f"{prefix}:{mid}", reason="message type unsupported by the platform"
        )
    extra = {
        "reply_to": text(obj(message.get("reply_to")).get("mid")),
        "quick_reply": text(obj(message.get("quick_reply")).get("payload")),
    }
    return ChannelMessage(
        event_id=f"{prefix}:{mid}",
        conversation=person,
        # PSID/IGSID only: the name needs a Graph API call the ingest may make.
        sender=Sender(external_id=person),
        text=text(message.get("text")),
        provider_message_id=mid,
        media=tuple(_attachment(a) for a in items(message.get("attachments"))),
        sent_at=from_unix(event.get("timestamp"), millis=True),
        extra={key: value for key, value in extra.items() if value},
    )


def _attachment(attachment: Json) -> Media:
    kind = text(attachment.get("type"))
    payload = obj(attachment.get("payload"))
    if kind == "location":  # legacy Messenger shape: payload.coordinates.lat/long
        place = obj(payload["coordinates"])
        return Media(kind="location", file_ref=location_ref(place["lat"], place["long"]))
    if kind == "image" and payload.get("sticker_id"):
        return Media(kind="sticker", file_ref=text(payload.get("url")))
    # share, story_mention, reel, template, fallback...: a link at best, fetched if ever needed.
    return Media(
        kind=FILE_KINDS.get(kind, "other"),
        file_ref=text(payload.get("url")),
        name=text(payload.get("title")) or text(attachment.get("title")),
    )
