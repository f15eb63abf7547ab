"""Counters that hand out ids (tickets, messages, users, ...): one atomic increment each."""

from __future__ import annotations

from helpdesk.store import keys
from helpdesk.store.table import Table


class Ids:
    def __init__(self, table: Table) -> None:
        self._table = table

    def next_id(self, name: str) -> int:
        pk, sk = keys.counter(name)
        return self._table.increment(pk, sk, "value")

    def last_id(self, name: str) -> int:
        """The last id handed out (0 before the first)."""
        item = self._table.get(*keys.counter(name))
        return int(item.get("value", 0)) if item else 0
