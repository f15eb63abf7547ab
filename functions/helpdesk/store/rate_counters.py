"""Request counters per principal and minute window (the API's rate limit), keyed in
keys.py."""

from __future__ import annotations

from typing import Any

from helpdesk.store import keys
from helpdesk.store.table import Condition, ConditionFailed, Item, Table


class RateCounters:
    def __init__(self, table: Table) -> None:
        self._table = table

    def count_request(self, principal: str, window: int) -> Item | None:
        """Count one request in the principal's current window; None if the window is new."""
        pk, sk = keys.rate_limit(principal)
        try:
            return self._table.increment_if(
                pk, sk, "count", Condition.attrs_equal(window=window)
            )
        except ConditionFailed:
            return None

    def rate_state(self, principal: str) -> Item | None:
        return self._table.get(*keys.rate_limit(principal))

    def replace_rate_state(
        self, principal: str, state: dict[str, Any], expected: Item | None
    ) -> bool:
        pk, sk = keys.rate_limit(principal)
        condition = (
            Condition.item_absent()
            if expected is None
            else Condition.attrs_equal(window=expected.get("window"), count=expected.get("count"))
        )
        try:
            self._table.put({"PK": pk, "SK": sk, **state}, condition)
        except ConditionFailed:
            return False
        return True
