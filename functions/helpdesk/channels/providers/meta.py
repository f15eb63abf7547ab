"""What WhatsApp Cloud API, Messenger and Instagram webhooks share (Meta's Webhooks product):
the GET verification handshake and the `X-Hub-Signature-256` header on every POST."""

from __future__ import annotations

from helpdesk.channels.events import ChannelSecrets, WebhookRequest, WebhookResult
from helpdesk.channels.providers.common import (
    check_hex_signature,
    configured,
    header,
    require_method,
    same,
)
from helpdesk.errors import Forbidden

SIGNATURE_HEADER = "X-Hub-Signature-256"
RECEIVED = "EVENT_RECEIVED"


def handshake(secrets: ChannelSecrets, request: WebhookRequest) -> WebhookResult | None:
    """The answer to Meta's subscription check (a GET), or None for an event delivery (POST)."""
    if require_method(request, "GET", "POST") == "POST":
        return None
    expected = configured(secrets.verify_token, "verify token")
    if request.query.get("hub.mode") != "subscribe":
        raise Forbidden("hub.mode must be 'subscribe'")
    if not same(request.query.get("hub.verify_token", ""), expected):
        raise Forbidden("hub.verify_token does not match")
    return WebhookResult(body=request.query.get("hub.challenge", ""))


def verify_signature(secrets: ChannelSecrets, request: WebhookRequest) -> None:
    app_secret = configured(secrets.app_secret, "app secret")
    scheme, _, signature = header(request, SIGNATURE_HEADER).partition("=")
    if scheme.strip().lower() != "sha256" or not signature:
        raise Forbidden(f"{SIGNATURE_HEADER} must look like sha256=<hex digest>")
    check_hex_signature(signature.strip(), app_secret, request.body, SIGNATURE_HEADER)
