"""Outbound webhooks: ticket events POSTed, signed, to integrators' URLs.

- `helpdesk.ssrf` (shared with the channels' clients and staff notices): only http(s) URLs
  whose host resolves to public addresses; the verified address is the one connected to.
- `signing`: X-Helpdesk-Timestamp/Signature (as our inbound custom channel), Delivery, Event.
- `sender`: one pinned POST, no redirects, failures as `helpdesk.delivery` exceptions.
- `breaker`: per-endpoint circuit breaker over a small stored dict.
- `deliver`: one attempt of a delivery (`deliver_webhook`).
- `targets`: the storage the Lambda needs (Protocol and an in-memory implementation).
- `task`: one task of the workflow (an attempt, or the dead letter at the end).

The `outbound_webhook` workflow retries temporary failures for hours and records a dead
letter at the end."""

from helpdesk.ssrf import AllowList, BlockedDestination
from helpdesk.webhooks_out.deliver import (
    CircuitOpen,
    DeliveryResult,
    WebhookTarget,
    deliver_webhook,
)
from helpdesk.webhooks_out.sender import WebhookSender
from helpdesk.webhooks_out.targets import DeadLetter, MemoryWebhookTargets, WebhookTargets

__all__ = [
    "AllowList",
    "BlockedDestination",
    "CircuitOpen",
    "DeadLetter",
    "DeliveryResult",
    "MemoryWebhookTargets",
    "WebhookSender",
    "WebhookTarget",
    "WebhookTargets",
    "deliver_webhook",
]
