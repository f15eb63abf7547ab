"""What a rule's conditions see about a ticket, and whether each holds.

Texts compare case-insensitively and Cyrillic-aware: casefolded, with ё read as е (Russian
writers use both), so "оплата" matches "ОПЛАТА" and "Счёт" matches "счет"."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any, Protocol

from helpdesk.models import FieldChange, Organization, Ticket, User
from helpdesk.rules.model import HOURS_FIELDS, Condition, Op, Rule

TEXT_LIMIT = 50_000  # characters of a body a regex looks at: bounded work per rule


class WorkingCalendar(Protocol):
    def is_working(self, moment: datetime) -> bool: ...


class AlwaysOpen:
    """24/7: where no working-time calendar is set."""

    def is_working(self, moment: datetime) -> bool:
        return True


@dataclass
class Facts:
    """One ticket as the rules see it. `ticket` is changed in place by field actions, so a
    later rule sees what earlier ones did."""

    ticket: Ticket
    now: datetime
    event_kind: str = "created"
    changes: list[FieldChange] = field(default_factory=list)  # of the triggering event
    body: str = ""  # the text of the message that triggered it (created: the first one)
    customer: User | None = None
    organization: Organization | None = None
    automatic: bool = False  # the triggering mail was an auto-reply / bulk
    calendar: WorkingCalendar = field(default_factory=AlwaysOpen)


def fold(text: str) -> str:
    return text.casefold().replace("ё", "е")


def rule_matches(rule: Rule, facts: Facts) -> bool:
    """Every ALL condition holds, and at least one ANY condition when there are some."""
    if not all(holds(c, facts) for c in rule.all):
        return False
    return not rule.any or any(holds(c, facts) for c in rule.any)


def holds(condition: Condition, facts: Facts) -> bool:
    if condition.op is Op.CHANGED:
        return _changed(condition, facts)
    actual = value_of(condition.field, facts)
    return _compare(condition.op, actual, condition.value)


def value_of(name: str, facts: Facts) -> Any:
    ticket = facts.ticket
    if name in HOURS_FIELDS:
        since = _since(name, ticket)
        return None if since is None else (facts.now - since).total_seconds() / 3600
    simple: dict[str, Callable[[], Any]] = {
        "channel": lambda: ticket.source,
        "subject": lambda: ticket.title,
        "body": lambda: facts.body,
        "text": lambda: f"{ticket.title}\n{facts.body}",
        "last_writer": lambda: ticket.last_writer,
        "working_hours": lambda: facts.calendar.is_working(facts.now),
        "automatic": lambda: facts.automatic,
    }
    if name in simple:
        return simple[name]()
    head, _, rest = name.partition(".")
    if head == "custom_fields":
        return ticket.custom_fields.get(rest)
    if head in ("customer", "organization"):
        owner = facts.customer if head == "customer" else facts.organization
        if owner is None:
            return None
        if rest.startswith("custom_fields."):
            return owner.custom_fields.get(rest.partition(".")[2])
        return getattr(owner, rest, None)
    return getattr(ticket, name)


def _since(name: str, ticket: Ticket) -> datetime | None:
    return {
        "hours_since_created": ticket.date_created,
        "hours_since_updated": ticket.date_updated,
        "hours_since_customer_reply": ticket.last_customer_reply_at,
        "hours_since_staff_reply": ticket.last_staff_reply_at,
        "hours_since_status_set": ticket.status_set_at or ticket.date_created,
    }[name]


def _changed(condition: Condition, facts: Facts) -> bool:
    """The triggering event changed the field (from -> to when given). Rules' own changes in
    this pass do not count: they are the next event's."""
    for change in facts.changes:
        if change.field != condition.field:
            continue
        if condition.from_ is not None and not _equal(change.old, condition.from_):
            continue
        if condition.to is not None and not _equal(change.new, condition.to):
            continue
        return True
    return False


def _compare(op: Op, actual: Any, expected: Any) -> bool:
    if op is Op.IS_SET:
        return actual not in (None, "", [], {})
    if op is Op.NOT_SET:
        return actual in (None, "", [], {})
    if op in (Op.IS, Op.IS_NOT):
        equal = (any(_equal(item, expected) for item in actual) if isinstance(actual, list)
                 else _equal(actual, expected))
        return equal if op is Op.IS else not equal
    if op in (Op.IN, Op.NOT_IN):
        items = actual if isinstance(actual, list) else [actual]  # tags: any of them
        found = any(_equal(item, option) for item in items for option in expected)
        return found if op is Op.IN else not found
    if op in (Op.CONTAINS, Op.NOT_CONTAINS):
        needles = expected if isinstance(expected, list) else [expected]
        found = any(_contains(actual, needle) for needle in needles)
        return found if op is Op.CONTAINS else not found
    if op is Op.REGEX:
        text = _text(actual)[:TEXT_LIMIT]
        patterns = expected if isinstance(expected, list) else [expected]
        return any(_regex(pattern).search(text) for pattern in patterns)
    if actual is None or isinstance(actual, bool):
        return False
    try:
        number = float(actual)
    except (TypeError, ValueError):
        return False
    outcome: bool = {Op.GT: number > expected, Op.GTE: number >= expected,
                     Op.LT: number < expected, Op.LTE: number <= expected}[op]
    return outcome


def _contains(actual: Any, needle: str) -> bool:
    if isinstance(actual, list):  # tags: one of them equals the needle
        return any(_equal(item, needle) for item in actual)
    return fold(needle) in fold(_text(actual))


def _equal(actual: Any, expected: Any) -> bool:
    if actual is None or expected is None:
        return actual is expected
    if isinstance(actual, bool) or isinstance(expected, bool):
        return actual is expected or str(actual).lower() == str(expected).lower()
    if isinstance(actual, int | float | Decimal) and isinstance(expected, int | float | Decimal):
        return actual == expected  # 42 is 42.0 (texts stay texts: "042" is not 42)
    return fold(str(actual)) == fold(str(expected))


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return " ".join(map(str, value))
    return str(value)


@lru_cache(maxsize=1024)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)
