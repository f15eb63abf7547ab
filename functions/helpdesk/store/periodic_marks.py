"""Which tickets a periodic rule fired on while its condition still held (it fires again
only after the condition stopped holding), keyed in keys.py."""

from __future__ import annotations

from helpdesk.store import keys
from helpdesk.store.table import QueryRequest, Table, query_all


class PeriodicMarks:
    def __init__(self, table: Table) -> None:
        self._table = table

    def periodic_marks(self, rule_id: int) -> set[int]:
        """Tickets the periodic rule fired on whose condition still held at the last pass."""
        items = query_all(self._table, QueryRequest(pk=keys.periodic_marks(rule_id)))
        return {int(item["ticket_id"]) for item in items}

    def set_periodic_mark(self, rule_id: int, ticket_id: int, fired: bool) -> None:
        pk, sk = keys.periodic_mark(rule_id, ticket_id)
        if fired:
            self._table.put({"PK": pk, "SK": sk, "item_type": "periodic_mark",
                            "ticket_id": ticket_id})
        else:
            self._table.delete(pk, sk)
