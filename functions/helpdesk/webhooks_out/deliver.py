"""One delivery attempt of an event to a subscriber: breaker check, sign, POST, new breaker
state. Delivery failures are returned, not raised, so the caller can store the breaker
state before it raises for the workflow."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from helpdesk.delivery import PermanentFailure, TemporaryFailure
from helpdesk.webhooks_out.breaker import BreakerState, allows, closed, normalize, record
from helpdesk.webhooks_out.sender import WebhookSender
from helpdesk.webhooks_out.signing import signed_headers


class CircuitOpen(TemporaryFailure):
    """The endpoint failed repeatedly; nothing is sent until its cool-down is over."""


@dataclass(frozen=True)
class WebhookTarget:
    """What a delivery needs to know about its subscription."""

    url: str
    secret: str
    breaker: BreakerState = field(default_factory=closed)
    enabled: bool = True


@dataclass(frozen=True)
class DeliveryResult:
    delivered: bool
    breaker: BreakerState  # the state to store (equal to the target's when unchanged)
    http_status: int | None = None  # the receiver's answer to a delivered request
    failure: TemporaryFailure | PermanentFailure | None = None

    @property
    def temporary(self) -> bool:
        return isinstance(self.failure, TemporaryFailure)


def deliver_webhook(target: WebhookTarget, delivery_id: str, event_type: str,
                    payload: dict[str, Any], now: datetime, *,
                    sender: WebhookSender | None = None) -> DeliveryResult:
    """POST `payload` as JSON, signed with the target's secret. Every attempt of one delivery
    carries the same X-Helpdesk-Delivery (receivers de-duplicate on it) and a fresh
    timestamp and signature (receivers refuse stale ones)."""
    state = normalize(target.breaker)
    if not allows(state, now):
        until = datetime.fromtimestamp(state["opened_until"], UTC).isoformat()
        return DeliveryResult(False, state, failure=CircuitOpen(
            f"circuit open until {until} after {state['failures']} failed attempts"))
    try:
        body = _json(payload)
        headers = signed_headers(target.secret, body, timestamp=int(now.timestamp()),
                                 delivery_id=delivery_id, event_type=event_type)
        response = (sender or WebhookSender()).post(target.url, headers, body)
    except TemporaryFailure as failure:
        # The endpoint is down or slow: that is what the breaker counts.
        return DeliveryResult(False, record(state, False, now), failure=failure)
    except PermanentFailure as failure:
        # It answered (a 4xx, a redirect) or was never contacted (a blocked address): not a
        # sign of an outage, so the breaker does not move.
        return DeliveryResult(False, state, failure=failure)
    return DeliveryResult(True, record(state, True, now), http_status=response.status)


def _json(payload: dict[str, Any]) -> bytes:
    try:
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":"),
                          allow_nan=False).encode()
    except (TypeError, ValueError) as exc:  # NaN, a set, a datetime: not for the wire
        raise PermanentFailure(f"the event is not JSON: {exc}") from None
