"""Queue entries and counters (keys in keys.py): one small item per queue a ticket is in, so
that a list reads only the page it returns, and one counter per queue, moved by ADD in the
same transaction as the entries (the counts are exact).

Which queues a ticket is in is decided by `helpdesk/queues.py`; this module turns the names
before and after a change into operations for the ticket's transaction:
- an entry whose queue the ticket left is deleted and its counter goes down by one;
- an entry of a queue the ticket joined is put and its counter goes up by one;
- an entry that stays is rewritten only when its sort attributes changed (last update, SLA
  due, priority). When the transaction would grow past DynamoDB's 100 items (a department
  change moves every scoped entry) those refreshes are left out: the entries keep their old
  position until the next change; membership and counts stay exact.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from helpdesk.errors import InvalidInput
from helpdesk.models import Ticket
from helpdesk.store import keys
from helpdesk.store.table import (
    Add,
    Delete,
    Item,
    KeyRange,
    Operation,
    Put,
    QueryRequest,
    Table,
    query_all,
)

TRANSACTION_LIMIT = 100
COUNT = "n"


@dataclass(frozen=True)
class Placement:
    """A ticket and the queue names it is in (None: no ticket, or no entries written yet)."""

    ticket: Ticket | None
    names: frozenset[str]


def entry_item(queue: str, ticket: Ticket) -> Item:
    pk = keys.queue_pk(queue)
    sorts = keys.queue_entry_sorts(ticket_id=ticket.id, created=ticket.date_created,
                                   updated=ticket.date_updated, priority_id=ticket.priority_id,
                                   sla_due=ticket.sla.next_due() if ticket.sla else None)
    item: Item = {"PK": pk, "item_type": "queue_entry", "ticket_id": ticket.id, **sorts}
    for index in keys.QUEUE_INDEXES:
        if f"{index}SK" in item:
            item[f"{index}PK"] = pk
    return item


def _counter(queue: str, amount: int) -> Add:
    pk, sk = keys.queue_counter(queue)
    return Add(pk, sk, COUNT, amount)


class QueueEntries:
    def __init__(self, table: Table) -> None:
        self._table = table

    def operations(self, before: Placement, after: Placement, room: int) -> list[Operation]:
        """What moves the ticket's entries from `before` to `after`, in at most `room` items
        (beyond that the change is refused: see queues.py for the bounds that prevent it)."""
        moves: list[Operation] = []
        assert after.ticket is not None
        for name in sorted(before.names - after.names):
            assert before.ticket is not None
            moves += [Delete(*keys.queue_entry(name, before.ticket.date_created,
                                               before.ticket.id)), _counter(name, -1)]
        for name in sorted(after.names - before.names):
            moves += [Put(entry_item(name, after.ticket)), _counter(name, 1)]
        if len(moves) > room:
            raise InvalidInput(f"this change moves ticket {after.ticket.id} in and out of "
                               f"{len(moves) // 2} queues at once, more than one transaction "
                               "holds: make it in two changes (the department apart)")
        refreshes: list[Operation] = []
        for name in sorted(before.names & after.names):
            assert before.ticket is not None
            old, new = entry_item(name, before.ticket), entry_item(name, after.ticket)
            if old != new:
                if old["SK"] != new["SK"]:  # created never changes; kept exact anyway
                    moves.append(Delete(old["PK"], old["SK"]))
                refreshes.append(Put(new))
        return moves + (refreshes if len(moves) + len(refreshes) <= room else [])

    def removal(self, placement: Placement) -> list[Operation]:
        ticket = placement.ticket
        assert ticket is not None
        operations: list[Operation] = []
        for name in sorted(placement.names):
            operations += [Delete(*keys.queue_entry(name, ticket.date_created, ticket.id)),
                           _counter(name, -1)]
        return operations

    def page(self, queue: str, sort: str, newest_first: bool, limit: int,
             key_range: KeyRange) -> list[str]:
        """Sort values (see keys.queue_entry_sorts) of up to `limit` entries of a queue, in
        order: one Query with Limit on the keys-only index of `sort` (the base table for
        `created`); continued only when DynamoDB stops at 1 MB first (over ~6,000 keys)."""
        index = keys.QUEUE_SORTS[sort]
        attribute = keys.queue_sort_attribute(sort)
        found = query_all(self._table, QueryRequest(pk=keys.queue_pk(queue), index=index,
                                                    sk=key_range, newest_first=newest_first,
                                                    limit=limit))
        return [str(item[attribute]) for item in found]

    def counts(self, queues: Iterable[str]) -> dict[str, int]:
        """Each queue's counter (0 for a queue nothing ever entered): one BatchGetItem."""
        names = list(dict.fromkeys(queues))
        found = self._table.get_many([keys.queue_counter(name) for name in names])
        by_pk = {item["PK"]: int(item.get(COUNT, 0)) for item in found}
        return {name: by_pk.get(keys.queue_counter(name)[0], 0) for name in names}


def chunks(operations: Sequence[Operation], size: int = TRANSACTION_LIMIT
           ) -> list[Sequence[Operation]]:
    return [operations[start:start + size] for start in range(0, len(operations), size)]
