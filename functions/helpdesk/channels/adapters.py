"""The one entry point for provider webhooks: pick the provider module by channel type, which
verifies the request the provider's way before reading it, then normalizes the payload."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from helpdesk.channels.events import ChannelSecrets, WebhookRequest, WebhookResult
from helpdesk.channels.providers import custom, messenger, telegram, viber, vk, whatsapp
from helpdesk.channels.providers.custom import sign_custom
from helpdesk.errors import InvalidInput, UnsupportedMediaType

Handler = Callable[[ChannelSecrets, WebhookRequest, datetime], WebhookResult]

HANDLERS: dict[str, Handler] = {
    "telegram": telegram.handle,
    "vk": vk.handle,
    "viber": viber.handle,
    "whatsapp": whatsapp.handle,
    "facebook": messenger.handle_facebook,
    "instagram": messenger.handle_instagram,
    "custom": custom.handle,
}
SUPPORTED_TYPES: tuple[str, ...] = tuple(HANDLERS)

__all__ = ["SUPPORTED_TYPES", "handle_webhook", "sign_custom"]


def handle_webhook(
    channel_type: str, secrets: ChannelSecrets, request: WebhookRequest, now: datetime
) -> WebhookResult:
    """Verify and normalize one webhook request.

    Raises Unauthorized when the request carries no signature/secret, Forbidden when it is
    wrong (or the channel has none configured), InvalidInput for an unknown channel type, a
    wrong method or a verified body that is not the provider's JSON, UnsupportedMediaType
    for a verified body not sent as JSON (every provider sends `application/json`)."""
    handler = HANDLERS.get(channel_type)
    if handler is None:
        raise InvalidInput(
            f"unknown channel type {channel_type!r}; supported: {', '.join(SUPPORTED_TYPES)}",
            field="channel_type",
        )
    result = handler(secrets, request, now)  # pure: refusing it now stores nothing
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if request.method == "POST" and media_type != "application/json":
        raise UnsupportedMediaType(f"{channel_type} webhooks are JSON (Content-Type: "
                                   f"application/json), not {media_type or 'untyped'}")
    return result
