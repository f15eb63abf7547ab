"""Storage the webhook Lambda needs, as a Protocol: the subscription's URL, secret and
breaker state; the breaker state written back; failed deliveries kept as dead letters.
`MemoryWebhookTargets` is the in-memory implementation (tests, local experiments); the
DynamoDB one lives with the rest of the storage code."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from helpdesk.webhooks_out.breaker import BreakerState
from helpdesk.webhooks_out.deliver import WebhookTarget


@dataclass(frozen=True)
class DeadLetter:
    subscription_id: int
    delivery_id: str
    event: dict[str, Any]  # the payload that was not delivered
    error: str  # "<error type>: <message>" of the last attempt
    at: datetime


class WebhookTargets(Protocol):
    def get(self, subscription_id: int) -> WebhookTarget | None:
        """The subscription's target (secret included), or None if it was deleted."""
        ...

    def save_breaker(self, subscription_id: int, state: BreakerState) -> None:
        """Store the endpoint's new breaker state. Last writer wins: parallel deliveries may
        lose a failure count, which only delays opening by an attempt or two."""
        ...

    def dead_letter(self, letter: DeadLetter) -> None:
        """Keep a delivery that failed for good. Must be idempotent on delivery_id: the
        workflow may invoke it twice."""
        ...


class MemoryWebhookTargets:
    def __init__(self, targets: dict[int, WebhookTarget] | None = None) -> None:
        self.targets: dict[int, WebhookTarget] = dict(targets or {})
        self.dead_letters: dict[str, DeadLetter] = {}

    def get(self, subscription_id: int) -> WebhookTarget | None:
        return self.targets.get(subscription_id)

    def save_breaker(self, subscription_id: int, state: BreakerState) -> None:
        if subscription_id in self.targets:
            self.targets[subscription_id] = replace(self.targets[subscription_id],
                                                    breaker=state)

    def dead_letter(self, letter: DeadLetter) -> None:
        self.dead_letters[letter.delivery_id] = letter
