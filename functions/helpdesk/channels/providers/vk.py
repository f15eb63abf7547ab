"""VK Callback API (v5.103+ shapes): the secret travels inside the JSON body, so the body is
parsed first; nothing else in it is read until the secret matched."""

from __future__ import annotations

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
    items,
    location_ref,
    obj,
    parse_object,
    payload_shape,
    require_method,
    size,
    text,
)
from helpdesk.errors import Forbidden, Unauthorized

# Attachment types whose object carries a direct `url` we can download later.
URL_KINDS = {"doc": "document", "audio": "audio", "graffiti": "photo"}


def handle(secrets: ChannelSecrets, request: WebhookRequest, now: datetime) -> WebhookResult:
    require_method(request, "POST")
    payload = parse_object(request.body)
    if payload.get("type") == "confirmation":
        # VK sends no secret with the confirmation request (documented); the group must match.
        _check_group(payload, secrets)
        answer = configured(secrets.confirmation, "VK confirmation string")
        return WebhookResult(body=answer)
    expected = configured(secrets.webhook_secret, "VK secret key")
    given = payload.get("secret")
    if not isinstance(given, str) or not given:
        raise Unauthorized("missing secret in the VK callback body")
    check_secret(given, expected, "VK callback secret")
    _check_group(payload, secrets)
    with payload_shape("VK"):
        return WebhookResult(events=(_event(payload),), body="ok")


def _check_group(payload: Json, secrets: ChannelSecrets) -> None:
    if secrets.account_id and text(payload.get("group_id")) != secrets.account_id:
        raise Forbidden(f"group_id {text(payload.get('group_id'))!r} is not this channel's group")


def _event(payload: Json) -> ChannelEvent:
    kind = text(payload["type"])
    data = obj(payload.get("object"))
    event_id = f"vk:{text(payload['event_id'])}"  # sent since API 5.103, unique per delivery
    if kind == "message_new":
        return _message(event_id, obj(data["message"]), obj(data.get("client_info")))
    if kind == "message_edit":
        # message_edit and message_reply carry the Message object itself, not {message, ...}.
        return MessageEdited(
            event_id=event_id,
            conversation=text(data["peer_id"]),
            provider_message_id=_message_id(data),
            text=text(data.get("text")),
        )
    reason = (
        "message_reply is our own outgoing message"
        if kind == "message_reply"
        else f"VK event type {kind} is not handled"
    )
    return Ignored(event_id=event_id, reason=reason)


def _message_id(message: Json) -> str:
    # In community chats `id` is 0; conversation_message_id is unique within the peer.
    if message.get("id"):
        return text(message["id"])
    return f"cmid:{text(message['conversation_message_id'])}"


def _message(event_id: str, message: Json, client: Json) -> ChannelMessage:
    extra = {
        "reply_to": text(obj(message.get("reply_message")).get("id")),
        "lang_id": text(client.get("lang_id")),  # VK's numeric language code of the app
    }
    return ChannelMessage(
        event_id=event_id,
        conversation=text(message["peer_id"]),
        # The name needs a users.get call; the ingest may look it up, the webhook has none.
        sender=Sender(external_id=text(message["from_id"])),
        text=text(message.get("text")),
        provider_message_id=_message_id(message),
        media=_media(message),
        sent_at=from_unix(message.get("date")),
        extra={key: value for key, value in extra.items() if value},
    )


def _media(message: Json) -> tuple[Media, ...]:
    found: list[Media] = []
    for attachment in items(message.get("attachments")):
        kind = text(attachment.get("type"))
        body = obj(attachment.get(kind))
        if kind == "photo":
            sizes = items(body.get("sizes"))
            if sizes:  # the same picture in several sizes; keep the largest one
                best = max(
                    sizes, key=lambda s: (size(s.get("width")) or 0) * (size(s.get("height")) or 0)
                )
                found.append(Media(kind="photo", file_ref=text(best["url"])))
        elif kind == "audio_message":
            found.append(
                Media(
                    kind="voice",
                    file_ref=text(body.get("link_ogg") or body["link_mp3"]),
                    content_type="audio/ogg" if body.get("link_ogg") else "audio/mpeg",
                )
            )
        elif kind == "sticker":
            images = items(body.get("images"))
            ref = (
                text(max(images, key=lambda i: size(i.get("width")) or 0)["url"])
                if images
                else text(body.get("sticker_id"))
            )
            found.append(Media(kind="sticker", file_ref=ref))
        elif kind in URL_KINDS and body.get("url"):
            name = text(body.get("title"))
            found.append(
                Media(
                    kind=URL_KINDS[kind],
                    file_ref=text(body["url"]),
                    name=name,
                    size=size(body.get("size")),
                )
            )
        else:
            # Links keep their URL; videos, wall posts...: no direct file, so VK's own
            # `<type><owner_id>_<id>[_<access_key>]` reference, which the API resolves.
            ref = text(body.get("url"))
            if not ref:
                ref = f"{kind}{text(body.get('owner_id'))}_{text(body.get('id'))}"
                if body.get("access_key"):
                    ref += f"_{text(body['access_key'])}"
            found.append(
                Media(
                    kind="video" if kind == "video" else "other",
                    file_ref=ref,
                    name=text(body.get("title")),
                )
            )
    coordinates = obj(obj(message.get("geo")).get("coordinates"))
    if coordinates:
        found.append(
            Media(
                kind="location",
                file_ref=location_ref(coordinates["latitude"], coordinates["longitude"]),
            )
        )
    return tuple(found)
