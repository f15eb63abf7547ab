"""SLA clocks as pure functions of a ticket's history: when a target is due, how much of it
is left, how long a reply or resolution took.

A ticket's clock runs from its creation except in its pauses (waiting for the customer, on
hold, closed). Time is counted in the calendar's working time (`business_hours`) or in plain
elapsed time. Due instants are recomputed from the whole history on every change, so a new
policy (a priority changed mid-way) or a new calendar applies to the time already spent."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from helpdesk.sla.model import Pause
from helpdesk.sla.worktime import WorkingTime


@dataclass(frozen=True)
class Clock:
    """What a ticket's SLA time is counted in."""

    calendar: WorkingTime
    business_hours: bool

    def measure(self, start: datetime, end: datetime) -> timedelta:
        if end <= start:
            return timedelta(0)
        return self.calendar.between(start, end) if self.business_hours else end - start

    def advance(self, start: datetime, amount: timedelta) -> datetime:
        return self.calendar.add(start, amount) if self.business_hours else start + amount


def running_spans(start: datetime, pauses: list[Pause],
                  paused_since: datetime | None) -> Iterator[tuple[datetime, datetime | None]]:
    """The spans the clock runs in, in order; the last one is open (None) unless paused."""
    cursor = start
    for pause in sorted(pauses, key=lambda p: p.start):
        if pause.end <= cursor:
            continue
        if pause.start > cursor:
            yield cursor, pause.start
        cursor = max(cursor, pause.end)
    if paused_since is None:
        yield cursor, None
    elif paused_since > cursor:
        yield cursor, paused_since


def elapsed(clock: Clock, start: datetime, pauses: list[Pause], paused_since: datetime | None,
            until: datetime) -> timedelta:
    """Running time from `start` to `until`."""
    total = timedelta(0)
    for span_start, span_end in running_spans(start, pauses, paused_since):
        if span_start >= until:
            break
        total += clock.measure(span_start, min(until, span_end or until))
    return total


def reach(clock: Clock, start: datetime, pauses: list[Pause], paused_since: datetime | None,
          amount: timedelta) -> datetime | None:
    """The instant the running time reaches `amount`; None while paused short of it."""
    spent = timedelta(0)
    for span_start, span_end in running_spans(start, pauses, paused_since):
        if span_end is None:
            return clock.advance(span_start, amount - spent)
        length = clock.measure(span_start, span_end)
        if spent + length >= amount:
            return clock.advance(span_start, amount - spent)
        spent += length
    return None


def with_pause_closed(pauses: list[Pause], paused_since: datetime | None,
                      now: datetime) -> list[Pause]:
    """The pauses as they stand at `now` (an ongoing pause counted up to now)."""
    if paused_since is None or now <= paused_since:
        return list(pauses)
    return [*pauses, Pause(start=paused_since, end=now)]
