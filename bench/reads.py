"""Reads that scale (issue "Reads that scale"): DynamoDB calls and items read by page 1 of
every list an agent works from, at 1,000, 10,000 and 100,000 tickets, side by side.

The tickets are written through the domain (`Tickets.create`, queue entries and counters in
each ticket's transaction) into the in-memory table, which the contract suite holds to
DynamoDB's behaviour and which answers a Query from the partition it names, as DynamoDB
does; a counting wrapper records every call and every item it returns. A figure that stays
the same from 1,000 to 100,000 tickets is a read that costs O(page).

`python -m bench.reads [N ...]` (default 1000 10000 100000)."""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

_FUNCTIONS = str(Path(__file__).resolve().parents[1] / "functions")
_ROOT = str(Path(__file__).resolve().parents[1])
for _path in (_FUNCTIONS, _ROOT):
    if _path not in sys.path:  # `python -m bench` runs from the repository root
        sys.path.insert(0, _path)

from helpdesk.inputs import MessageCreate, TicketCreate, UserCreate  # noqa: E402
from helpdesk.search.indexer import INDEXED_ITEM_TYPES, Indexer  # noqa: E402
from helpdesk.search.queries import Search  # noqa: E402
from helpdesk.service import Helpdesk  # noqa: E402
from helpdesk.store.memory import MemoryTable  # noqa: E402
from helpdesk.store.search_tokens import SearchTokens  # noqa: E402
from helpdesk.store.table import Item, QueryRequest  # noqa: E402
from helpdesk.store.ticket_records import TicketRecords  # noqa: E402
from helpdesk.ticket_pages import Paging  # noqa: E402
from helpdesk.tickets import TicketFilter  # noqa: E402

PER_PAGE = 30
CUSTOMERS = 20  # each with a full page of tickets from 1,000 tickets on
LONG_THREAD = 2_000  # posts of the one long conversation
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


class CountingTable(MemoryTable):
    """The in-memory table, counting calls by operation and the items each returned."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: Counter[str] = Counter()
        self.items = 0

    def get(self, pk: str, sk: str) -> Item | None:
        found = super().get(pk, sk)
        self.calls["GetItem"] += 1
        self.items += found is not None
        return found

    def query(self, request: QueryRequest) -> Any:
        page = super().query(request)
        self.calls["Query"] += 1
        self.items += len(page.items)
        return page

    def get_many(self, keys: Sequence[tuple[str, str]]) -> list[Item]:
        found = super().get_many(keys)
        self.calls["BatchGetItem"] += max(1, -(-len(keys) // 100))
        self.items += len(found)
        return found

    def reset(self) -> None:
        self.calls.clear()
        self.items = 0


@dataclass
class Clock:
    now: datetime = START

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=7)
        return self.now


@dataclass
class Desk:
    helpdesk: Helpdesk
    table: CountingTable
    admin: Any
    agent: Any
    long_ticket: int = 0
    customer_id: int = 0
    seconds: float = 0.0
    figures: dict[str, tuple[int, int]] = field(default_factory=dict)


def _index(table: CountingTable) -> None:
    """What the search_index function does from the table's stream, over every change."""
    indexer = Indexer(SearchTokens(table), TicketRecords(table))
    for old, new in table.take_changes():
        image = new if new is not None else old
        if image is not None and image.get("item_type") in INDEXED_ITEM_TYPES:
            indexer.apply(old, new)


def build(tickets: int) -> Desk:
    table, clock = CountingTable(), Clock()
    table.record_changes()
    desk = Helpdesk(table, clock=clock)
    desk.bootstrap("admin@example.com", "bench-key")
    admin = desk.users.authenticate("admin@example.com", "bench-key")
    _, key = desk.users.create(admin, UserCreate(name="Agent", email="agent@example.com",
                                                 group_id=2, department=[1]))
    assert key is not None  # a new staff member's key, shown once
    agent = desk.users.authenticate("agent@example.com", key)
    began = time.monotonic()
    statuses = ("open", "open", "pending", "closed")
    for number in range(tickets):
        rare = "Возврат денег по заказу" if number % 1000 == 500 else "Оплата заказа"
        fields: dict[str, Any] = {
            "title": f"{rare} {number}", "description": "Карта отклонена",
            "user_email": f"c{number % CUSTOMERS}@example.com",
            "status_id": statuses[number % len(statuses)], "priority_id": 1 + number % 4,
            "tags": ["billing"] if number % 10 == 0 else [],
            "owner_id": agent.user.id if number % 3 == 0 else None,
            "followers": [admin.user.id] if number % 10 == 0 else []}
        desk.tickets.create(admin, TicketCreate.model_validate(fields))
        if number % 1000 == 999:
            _index(table)  # as the stream goes along: the feed stays short
    _index(table)
    found = Desk(desk, table, admin, agent, seconds=time.monotonic() - began)
    first = desk.tickets.page(admin, TicketFilter(), Paging(per_page=1)).tickets[0]
    found.customer_id = first.user_id or 0
    long = desk.tickets.create(admin, TicketCreate(title="Long conversation",
                                                   user_email="long@example.com"))
    for number in range(LONG_THREAD):
        desk.tickets.add_message(admin, long.id, "post", MessageCreate(text=f"reply {number}"))
    _index(table)
    found.long_ticket = long.id
    return found


def cases(desk: Desk) -> list[tuple[str, Callable[[], object]]]:
    tickets, admin, agent = desk.helpdesk.tickets, desk.admin, desk.agent
    search = Search.on(desk.helpdesk.repository)

    def page(viewer: Any, queue: str | None = None, number: int = 1,
             **filters: Any) -> Callable[[], object]:
        return lambda: tickets.page(viewer, TicketFilter(**filters),
                                    Paging(per_page=PER_PAGE, page=number), queue)

    return [
        ("all tickets", page(admin)),
        ("open (status)", page(admin, "open")),
        ("pending", page(admin, "pending")),
        ("closed", page(admin, "closed")),
        ("mine (agent)", page(agent, "mine")),
        ("unassigned (agent's dept)", page(agent, "unassigned")),
        ("open (agent's dept)", page(agent, "open")),
        ("tag:billing", page(admin, "tag:billing")),
        ("source:api", page(admin, "source:api")),
        ("followed", page(admin, "followed")),
        ("customer", page(admin, f"customer:{desk.customer_id}")),
        ("trash", page(admin, "trash")),
        ("spam", page(admin, "spam")),
        ("priority order, open", lambda: tickets.page(
            admin, TicketFilter(), Paging(per_page=PER_PAGE, sort="priority"), "open")),
        ("status_id=open&priority_id=2", page(admin, status_id="open", priority_id=2)),
        # No index answers a type: the open queue is read and filtered, at most MAX_SCANNED
        # entries (1,000) per call, so this one grows until it reaches that bound.
        ("status_id=open&type_id=1 (bounded)", page(admin, status_id="open", type_id=1)),
        ("sidebar counts (agent)", lambda: tickets.queue_counts(agent)),
        ("posts of a 2,000-post ticket", lambda: tickets.messages(
            admin, desk.long_ticket, "post", PER_PAGE + 1)),
        ("page 50 of all tickets", page(admin, number=50)),
        ("search: a word every ticket has", lambda: search.tickets(admin, "оплатой",
                                                                   PER_PAGE, None)),
        ("search: a word of one ticket in 1,000", lambda: search.tickets(
            admin, "возвратом", PER_PAGE, None)),
        ("search: a customer by e-mail", lambda: search.users("c7@example.com",
                                                              PER_PAGE, None)),
    ]


def measure(desk: Desk) -> dict[str, tuple[int, int]]:
    figures = {}
    for label, read in cases(desk):
        if label.startswith("page 50") and desk.helpdesk.tickets.page(
                desk.admin, TicketFilter(), Paging(per_page=1)).total < 50 * PER_PAGE:
            continue
        desk.table.reset()
        read()
        figures[label] = (sum(desk.table.calls.values()), desk.table.items)
    return figures


def report(sizes: Sequence[int] = (1_000, 10_000, 100_000)) -> None:
    print(f"\nReads that scale: DynamoDB calls / items read for page 1 ({PER_PAGE} per page) "
          "as tickets grow (in-memory table, counted per call):")
    results = []
    for size in sizes:
        desk = build(size)
        results.append((size, measure(desk)))
        print(f"  ({size:,} tickets written through the domain in {desk.seconds:.0f} s)")
    labels = list(dict.fromkeys(label for _, figures in results for label in figures))
    header = "".join(f"{f'{size:,} tickets':>18}" for size, _ in results)
    print(f"  {'list':<32}{header}   ratio last/first (items)")
    for label in labels:
        cells, items = [], []
        for _, figures in results:
            if label in figures:
                calls, read = figures[label]
                cells.append(f"{calls:>3} / {read:<5}".rjust(18))
                items.append(read)
            else:
                cells.append(f"{'—':>18}")
        ratio = f"{items[-1] / items[0]:.2f}" if len(items) > 1 and items[0] else "—"
        print(f"  {label:<32}{''.join(cells)}   {ratio}")


if __name__ == "__main__":
    report([int(size) for size in sys.argv[1:]] or (1_000, 10_000, 100_000))
