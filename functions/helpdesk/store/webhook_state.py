"""What outbound webhook deliveries keep per subscription: the circuit breaker's state and
the dead letters (deliveries given up), keyed in keys.py."""

from __future__ import annotations

from typing import Any

from helpdesk.store import keys
from helpdesk.store.table import KeyRange, QueryRequest, Table, query_all


class WebhookState:
    def __init__(self, table: Table) -> None:
        self._table = table

    def webhook_breaker(self, subscription_id: int) -> dict[str, Any] | None:
        return self._table.get(*keys.subscription_breaker(subscription_id))

    def save_webhook_breaker(self, subscription_id: int, state: dict[str, Any]) -> None:
        # Last writer wins: parallel deliveries may lose a failure count (see the breaker).
        pk, sk = keys.subscription_breaker(subscription_id)
        self._table.put({"PK": pk, "SK": sk, "item_type": "webhook_breaker", **state})

    def save_dead_letter(self, subscription_id: int, delivery_id: str,
                         letter: dict[str, Any]) -> None:
        """One item per delivery id: recording the same failure twice overwrites it."""
        pk, sk = keys.dead_letter(subscription_id, delivery_id)
        self._table.put({"PK": pk, "SK": sk, "item_type": "dead_letter", **letter})

    def dead_letters(self, subscription_id: int) -> list[dict[str, Any]]:
        pk, prefix = keys.dead_letters(subscription_id)
        return query_all(self._table, QueryRequest(pk=pk, sk=KeyRange(prefix=prefix)))
