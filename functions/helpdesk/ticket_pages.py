"""Ticket lists that read only the page they return.

A list is driven by one queue (see queues.py): an admin reads its global name, an agent its
scoped name in each of his departments (one query each, merged: a ticket is in one
department), a customer `customer:<his id>`. Queue entries are keys only, ordered by the
sort asked for; the tickets of the page are then fetched in one BatchGetItem.

- `page=N` reads the keys of pages 1..N in one keys-only query (Limit N*per_page+1) and
  fetches the last page's tickets; page*per_page is capped at `MAX_WINDOW` (use `cursor`).
- `cursor` continues after the last entry returned: a position in the queue's order, so
  changes between calls neither repeat nor skip a ticket that kept its place.
- Filters the driving queue does not answer are applied to the page's tickets, reading on
  until `per_page` match or `MAX_SCANNED` entries were looked at; the page may then be short
  and a cursor says where to go on. `total` is then the driving queue's count: an upper bound
  (`total_is_exact` False).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from helpdesk.errors import InvalidInput
from helpdesk.models import Ticket
from helpdesk.store.table import KeyRange

MAX_SCANNED = 1000
MAX_WINDOW = 10_000
FILTERED_CHUNK = 100  # entries read per call while filtering in memory (fewer round trips)
SORTS = ("updated", "created", "sla_due", "priority")
_POSITION = re.compile(r"^[0-9A-Za-z:.#-]{1,80}$")


@dataclass(frozen=True)
class Paging:
    per_page: int
    page: int = 1
    cursor: str | None = None
    sort: str = "updated"
    newest_first: bool = True  # descending: latest update/creation/due, most urgent first

    @property
    def descending_index(self) -> bool:
        """The priority index ranks the most urgent first in ascending order."""
        return self.newest_first != (self.sort == "priority")


@dataclass
class TicketPage:
    tickets: list[Ticket]
    next_cursor: str | None
    total: int
    total_is_exact: bool


@dataclass(frozen=True)
class Plan:
    """What a list request reads: the queue names, the key range the filters give, the test
    for what the queue does not answer (None: nothing left) and the cursor's fingerprint."""

    queues: Sequence[str]
    key_range: KeyRange
    keep: Callable[[Ticket], bool] | None
    fingerprint: str
    exact_total: bool
    # The index read when a filter is a key range of another one (a priority is a prefix of
    # the priority index, whose entries are ordered by update within it); None: the sort's.
    index_sort: str | None = None

    def index(self, paging: Paging) -> tuple[str, bool]:
        """(the sort whose index is read, descending)."""
        if self.index_sort is None:
            return paging.sort, paging.descending_index
        return self.index_sort, paging.newest_first


class QueueReads(Protocol):
    def ticket_page(self, queues: Sequence[str], sort: str, newest_first: bool, limit: int,
                    key_range: KeyRange) -> list[str]: ...

    def tickets_by_id(self, ticket_ids: Sequence[int]) -> list[Ticket]: ...


def fingerprint(*parts: object) -> str:
    text = json.dumps([str(part) for part in parts])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _checksum(position: str, print_: str) -> str:
    return hashlib.sha256(f"cursor|{position}|{print_}".encode()).hexdigest()[:12]


def encode_cursor(position: str, print_: str) -> str:
    body = json.dumps({"p": position, "f": print_, "c": _checksum(position, print_)},
                      separators=(",", ":"))
    return base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, print_: str) -> str:
    """The position a cursor names; a 400 naming `cursor` when it is malformed, altered or
    made for another list (other filters, sort or viewer). The checksum is no secret: a
    forged cursor can only move within the lists the viewer may read anyway."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        body = json.loads(raw)
        position, made_for, check = body["p"], body["f"], body["c"]
    except (ValueError, TypeError, KeyError, binascii.Error):
        raise InvalidInput("cursor is not one this API returned", field="cursor") from None
    if not (isinstance(position, str) and _POSITION.match(position)) or check != _checksum(
            position, str(made_for)):
        raise InvalidInput("cursor is not one this API returned", field="cursor")
    if made_for != print_:
        raise InvalidInput("cursor was made for another list (other filters, sort or order): "
                           "start again without it", field="cursor")
    return position


def _after(key_range: KeyRange, position: str | None, newest_first: bool) -> KeyRange:
    """The range strictly beyond `position` in the list's direction. Sort values are of fixed
    width, so the neighbour string of the last character bounds them exactly."""
    if position is None:
        return key_range
    if newest_first:
        below = position[:-1] + chr(ord(position[-1]) - 1) + "~"
        high = below if key_range.high is None else min(key_range.high, below)
        return KeyRange(low=key_range.low or "0", high=high)
    above = position[:-1] + chr(ord(position[-1]) + 1)
    low = above if key_range.low is None else max(key_range.low, above)
    return KeyRange(low=low, high=key_range.high)


def _ticket_id(position: str) -> int:
    return int(position.rsplit("#", 1)[-1])


def read_page(store: QueueReads, plan: Plan, paging: Paging) -> tuple[list[Ticket], str | None]:
    """The page's tickets and the cursor of the next page (None at the end)."""
    position = decode_cursor(paging.cursor, plan.fingerprint) if paging.cursor else None
    if plan.keep is None:
        return _plain_page(store, plan, paging, position)
    tickets: list[Ticket] = []
    for _ in range(1 if position is not None else paging.page):
        tickets, position, more = _filtered_walk(store, plan, paging, position)
        if not more:
            return tickets, None
    return tickets, None if position is None else encode_cursor(position, plan.fingerprint)


def _plain_page(store: QueueReads, plan: Plan, paging: Paging,
                position: str | None) -> tuple[list[Ticket], str | None]:
    skip = 0 if position is not None else (paging.page - 1) * paging.per_page
    sort, descending = plan.index(paging)
    values = store.ticket_page(plan.queues, sort, descending, skip + paging.per_page + 1,
                               _after(plan.key_range, position, descending))
    shown = values[skip:skip + paging.per_page]
    more = len(values) > skip + paging.per_page
    tickets = store.tickets_by_id([_ticket_id(value) for value in shown])
    return tickets, encode_cursor(shown[-1], plan.fingerprint) if more and shown else None


def _filtered_walk(store: QueueReads, plan: Plan, paging: Paging,
                   position: str | None) -> tuple[list[Ticket], str | None, bool]:
    """Read on from `position` until a page of matches or MAX_SCANNED entries: the matches,
    where the walk stopped and whether the queue goes on."""
    assert plan.keep is not None
    matched: list[Ticket] = []
    scanned = 0
    chunk = max(paging.per_page + 1, FILTERED_CHUNK)
    sort, descending = plan.index(paging)
    while True:
        values = store.ticket_page(plan.queues, sort, descending, chunk,
                                   _after(plan.key_range, position, descending))
        found = {t.id: t for t in store.tickets_by_id([_ticket_id(v) for v in values])}
        for value in values:
            position, scanned = value, scanned + 1
            ticket = found.get(_ticket_id(value))
            if ticket is not None and plan.keep(ticket):
                matched.append(ticket)
                if len(matched) == paging.per_page:
                    return matched, position, True
            if scanned >= MAX_SCANNED:
                return matched, position, True
        if len(values) < chunk:
            return matched, position, False
