"""Automation figures: rule evaluations per second (100 rules x 1,000 ticket events, the pure
engine) and items read per periodic pass as open tickets grow (1k vs 50k with the same 10
candidates): the pass must follow the candidates, not the table."""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

_FUNCTIONS = str(Path(__file__).resolve().parents[1] / "functions")
if _FUNCTIONS not in sys.path:  # `python -m bench` runs from the repository root
    sys.path.insert(0, _FUNCTIONS)

from helpdesk.models import Ticket  # noqa: E402
from helpdesk.rules.conditions import Facts  # noqa: E402
from helpdesk.rules.engine import run_rules  # noqa: E402
from helpdesk.rules.model import Rule, RuleFields  # noqa: E402
from helpdesk.templates import TemplateValues  # noqa: E402

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


class _Resolver:
    def known(self, dictionary: str, entry_id: int | str) -> bool:
        return True

    def is_active_agent(self, user_id: int) -> bool:
        return True

    def owner_for(self, strategy: str, ticket: Ticket) -> int | None:
        return 7

    def template(self, template_id: int) -> Any:
        return None

    def values(self, ticket: Ticket) -> TemplateValues:
        return TemplateValues.for_ticket(ticket)

    def language(self, ticket: Ticket) -> str | None:
        return "en"

    def staff_emails(self, target: str, ticket: Ticket) -> list[str]:
        return ["duty@example.com"]


def _rules(count: int) -> list[Rule]:
    """A realistic mix: keyword routing (ANY of texts), channel + status, a regex, tags."""
    rules = []
    for n in range(count):
        shape = n % 4
        conditions: dict[str, Any] = [  # type: ignore[assignment]
            {"any": [{"field": "text", "op": "contains", "value": [f"keyword{n}", "оплата"]}]},
            {"all": [{"field": "channel", "op": "is", "value": "email"},
                     {"field": "status_id", "op": "in", "value": ["open", "pending"]}]},
            {"all": [{"field": "subject", "op": "regex", "value": rf"order\s+#?{n}\b"}]},
            {"all": [{"field": "tags", "op": "contains", "value": f"tag{n}"}]},
        ][shape]
        fields = RuleFields.model_validate({"name": f"rule {n}", "kind": "new", **conditions,
                                            "actions": [{"type": "add_tags",
                                                         "value": [f"r{n}"]}]})
        rules.append(Rule(id=n + 1, position=n + 1, **fields.model_dump()))
    return rules


def evaluations_per_second(rules: int = 100, events: int = 1000) -> tuple[float, int]:
    rule_list = _rules(rules)
    tickets = [Ticket(id=i, unique_id=f"HD-{i}", title=f"Order #{i} question", version=1,
                      source="email" if i % 3 else "telegram", tags=[f"tag{i % 150}"])
               for i in range(events)]
    fired = 0
    started = time.perf_counter()
    for ticket in tickets:
        facts = Facts(ticket=ticket, now=NOW, body="Здравствуйте, вопрос по оплате заказа")
        fired += len(run_rules(rule_list, facts, _Resolver(), f"{ticket.id}-1").fired)
    seconds = time.perf_counter() - started
    return rules * events / seconds, fired


class _Counting:
    """A Table that counts the items its reads return."""

    def __init__(self, table: Any) -> None:
        self._table = table
        self.items_read = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)

    def get(self, pk: str, sk: str) -> Any:
        item = self._table.get(pk, sk)
        self.items_read += item is not None
        return item

    def query(self, request: Any) -> Any:
        page = self._table.query(request)
        self.items_read += len(page.items)
        return page


def periodic_items_read(open_tickets: int, pending: int = 10) -> tuple[int, int]:
    from helpdesk.rules.runner import RuleRunner
    from helpdesk.service import Helpdesk
    from helpdesk.store.memory import MemoryTable
    from helpdesk.store.ticket_records import ticket_item

    table = _Counting(MemoryTable())
    helpdesk = Helpdesk(table, clock=lambda: NOW)
    helpdesk.bootstrap("bench@example.com", "bench-key")
    admin = helpdesk.users.authenticate("bench@example.com", "bench-key")
    helpdesk.rules.create(admin, RuleFields.model_validate({
        "name": "Remind", "kind": "periodic",
        "all": [{"field": "status_id", "op": "is", "value": "pending"},
                {"field": "hours_since_status_set", "op": "gte", "value": 72}],
        "actions": [{"type": "add_tags", "value": ["reminded"]}]}))
    updated = NOW - timedelta(days=4)
    for n in range(open_tickets + pending):
        status = "pending" if n < pending else "open"
        table.put(ticket_item(Ticket(
            id=1000 + n, unique_id=f"HD-{1000 + n}", title="t", status_id=status, version=1,
            department_id=1, date_created=updated, date_updated=updated,
            status_set_at=updated)))
    table.items_read = 0
    stats = RuleRunner(helpdesk).periodic(NOW)
    return table.items_read, stats["fired"]


def report() -> None:
    rate, fired = evaluations_per_second()
    if not fired:
        raise SystemExit("rules bench: no rule fired; the workload did not run")
    print("\nAutomation rules:")
    print(f"  rule evaluations/s (100 rules x 1,000 events, pure engine) {rate:12,.0f}"
          f"   ({fired} firings)")
    for count in (1_000, 50_000):
        read, fired = periodic_items_read(count)
        if fired != 10:  # exactly the 10 pending tickets are due a reminder
            raise SystemExit(f"rules bench: periodic pass fired {fired}, expected 10")
        print(f"  periodic pass, {count:>6,} open + 10 pending tickets: {read:5d} items read, "
              f"{fired} fired")
