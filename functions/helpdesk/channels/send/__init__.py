"""Outbound messenger clients: send a reply, send a file, fetch an inbound attachment.

    client = client_for("telegram", secrets)
    message_id = client.send_text(chat_id, "Hello", idempotency_key="post-42")

Every call is a single HTTP attempt with explicit timeouts, to public addresses only (`Http`
checks each URL with `helpdesk.ssrf` and connects to the verified address); failures raise
`helpdesk.delivery.TemporaryFailure` (the workflow retries) or `PermanentFailure`."""

from __future__ import annotations

from collections.abc import Callable

from helpdesk.channels.events import ChannelSecrets
from helpdesk.channels.send.base import DownloadedFile, ProviderClient
from helpdesk.channels.send.http import DEFAULT_MAX_DOWNLOAD, DEFAULT_TIMEOUT, Http, PinnedPools
from helpdesk.channels.send.messenger import InstagramClient, MessengerClient
from helpdesk.channels.send.telegram import TelegramClient
from helpdesk.channels.send.viber import ViberClient
from helpdesk.channels.send.vk import VkClient
from helpdesk.channels.send.whatsapp import WhatsAppClient
from helpdesk.delivery import PermanentFailure

ClientFactory = Callable[[ChannelSecrets, str | None, Http | None], ProviderClient]

CLIENTS: dict[str, ClientFactory] = {
    "telegram": TelegramClient,
    "vk": VkClient,
    "whatsapp": WhatsAppClient,
    "viber": ViberClient,
    "facebook": MessengerClient,
    "instagram": InstagramClient,
}


def client_for(channel_type: str, secrets: ChannelSecrets, base_url: str | None = None, *,
               http: Http | None = None, sender_name: str = "Support") -> ProviderClient:
    """The client for a channel type; `base_url` replaces the provider's real address (tests
    point it at a fake server, which `http`'s allow-list must then admit), `sender_name` is
    what Viber shows as the sender."""
    client_class = CLIENTS.get(channel_type)
    if client_class is None:
        raise PermanentFailure(f"no outbound client for channel type {channel_type!r}")
    if client_class is ViberClient:
        return ViberClient(secrets, base_url, http, sender_name=sender_name)
    return client_class(secrets, base_url, http)


__all__ = ["CLIENTS", "DEFAULT_MAX_DOWNLOAD", "DEFAULT_TIMEOUT", "DownloadedFile", "Http",
           "PinnedPools", "ProviderClient", "client_for"]
