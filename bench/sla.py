"""SLA figures: items the scheduler reads per run as open tickets grow (the same 10 due
among 1,000 / 10,000 / 50,000), and what keeping a ticket's SLA state costs per write.
Working-time arithmetic itself is in bench/worktime.py."""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

_FUNCTIONS = str(Path(__file__).resolve().parents[1] / "functions")
_ROOT = str(Path(__file__).resolve().parents[1])
for _path in (_FUNCTIONS, _ROOT):
    if _path not in sys.path:  # `python -m bench` runs from the repository root
        sys.path.insert(0, _path)

from helpdesk.inputs import TicketCreate, TicketUpdate  # noqa: E402
from helpdesk.service import Helpdesk  # noqa: E402
from helpdesk.sla.escalation import due_checks  # noqa: E402
from helpdesk.sla.model import CalendarFields, PolicyFields  # noqa: E402
from helpdesk.store.memory import MemoryTable  # noqa: E402
from helpdesk.store.repository import Repository  # noqa: E402
from helpdesk.store.table import QueryRequest  # noqa: E402
from helpdesk.store.ticket_records import ticket_item  # noqa: E402

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


class _CountingTable(MemoryTable):
    def __init__(self) -> None:
        super().__init__()
        self.items_returned = 0
        self.queries = 0

    def query(self, request: QueryRequest) -> Any:
        page = super().query(request)
        self.items_returned += len(page.items)
        self.queries += 1
        return page


def _desk() -> tuple[Helpdesk, Any]:
    desk = Helpdesk(MemoryTable(), clock=lambda: NOW)
    desk.bootstrap("admin@example.com", "bench-key")
    admin = desk.users.authenticate("admin@example.com", "bench-key")
    desk.calendars.create(admin, CalendarFields.model_validate({
        "name": "Office", "timezone": "Europe/Berlin", "holiday_country": "DE",
        "hours": [{"day": d, "start": s, "end": e} for d in ("mon", "tue", "wed", "thu", "fri")
                  for s, e in (("09:00", "13:00"), ("14:00", "18:00"))]}))
    desk.sla_policies.create(admin, PolicyFields.model_validate({
        "name": "Critical", "priority_ids": [4], "first_reply_minutes": 15,
        "resolution_minutes": 60}))
    desk.sla_policies.create(admin, PolicyFields.model_validate({
        "name": "Normal", "priority_ids": [2], "first_reply_minutes": 60,
        "resolution_minutes": 480}))
    return desk, admin


def scheduler_reads(open_tickets: int, due: int = 10) -> tuple[int, int, float]:
    """(items read, queries, seconds) of one scheduler scan."""
    desk, admin = _desk()
    template = desk.tickets.create(admin, TicketCreate(title="t", user_email="c@x.io",
                                                       priority_id=4))
    table = _CountingTable()
    for number in range(1, open_tickets + 1):
        ticket = template.model_copy(deep=True)
        ticket.id, ticket.unique_id = number, f"HD-{number}"
        assert ticket.sla is not None
        ticket.sla.next_check = (NOW - timedelta(minutes=1) if number <= due
                                 else NOW + timedelta(minutes=number))
        table.put(ticket_item(ticket))
    table.items_returned = table.queries = 0
    started = time.perf_counter()
    scan = due_checks(Repository(table), NOW)
    elapsed = time.perf_counter() - started
    assert len(scan.checks) == due
    return table.items_returned, table.queries, elapsed


def tracking_cost(writes: int = 2_000) -> float:
    """Microseconds the SLA tracker adds to one ticket write (policy, calendar, pauses)."""
    desk, admin = _desk()
    ticket = desk.tickets.create(admin, TicketCreate(title="t", user_email="c@x.io",
                                                     priority_id=4))
    desk.tickets.update(admin, ticket.id, TicketUpdate(status_id="pending"))
    desk.tickets.update(admin, ticket.id, TicketUpdate(status_id="open"))
    current = desk.repository.tickets.get_ticket(ticket.id)
    assert current is not None
    tracker = desk.sla
    started = time.perf_counter()
    for number in range(writes):
        after = current.model_copy(deep=True)
        after.priority_id = 2 if number % 2 else 4  # each write moves the due times
        tracker.track(current, after, NOW + timedelta(minutes=number), staff_replied=False)
    return (time.perf_counter() - started) / writes * 1e6


def report() -> None:
    print("\nSLA scheduler: items read per run, the same 10 checks due:")
    for open_tickets in (1_000, 10_000, 50_000):
        items, queries, seconds = scheduler_reads(open_tickets)
        print(f"  {open_tickets:>6,} open tickets   {items:>3} items read, {queries} queries "
              f"(one per shard), {seconds * 1000:.2f} ms")
    print(f"\nSLA tracking per ticket write (recompute due times): {tracking_cost():.0f} µs")
    try:
        from bench import worktime
    except ImportError:
        return
    worktime.report()


if __name__ == "__main__":
    report()
