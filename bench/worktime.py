"""Working-time figures: SLA due dates (add) and elapsed working time (between) per second on
one core, the pure arithmetic after warm-up (the span caches filled), deterministic inputs."""

from __future__ import annotations

import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

_FUNCTIONS = str(Path(__file__).resolve().parents[1] / "functions")
if _FUNCTIONS not in sys.path:  # `python -m bench` runs from the repository root
    sys.path.insert(0, _FUNCTIONS)

from helpdesk.sla.worktime import Interval, WorkingTime  # noqa: E402

CALLS = 50_000
SEED = 20260101
START = datetime(2026, 1, 1, tzinfo=UTC)

# German public holidays (Berlin) for 2026-2027: the dates a helpdesk there would not work.
BERLIN_HOLIDAYS = frozenset(date.fromisoformat(day) for day in (
    "2026-01-01", "2026-03-08", "2026-04-03", "2026-04-06", "2026-05-01", "2026-05-14",
    "2026-05-25", "2026-10-03", "2026-12-25", "2026-12-26", "2027-01-01", "2027-03-08",
    "2027-03-26", "2027-03-29", "2027-05-01", "2027-05-06", "2027-05-17", "2027-10-03",
    "2027-12-25", "2027-12-26"))


def _office() -> WorkingTime:
    return WorkingTime("Europe/Berlin", [interval for day in range(5) for interval in (
        Interval.parse(day, "09:00", "13:00"), Interval.parse(day, "14:00", "18:00"))],
        BERLIN_HOLIDAYS)


def _starts(count: int, rng: random.Random) -> list[datetime]:
    """Ticket creation instants over a year, to the second, in and out of hours."""
    return [START + timedelta(seconds=rng.randrange(365 * 86_400)) for _ in range(count)]


def additions_per_second(calendar: WorkingTime, calls: int = CALLS) -> float:
    rng = random.Random(SEED)
    starts = _starts(calls, rng)
    durations = [timedelta(minutes=rng.randrange(15, 8 * 60 + 1)) for _ in range(calls)]
    for start, duration in zip(starts, durations, strict=True):  # warm-up: fill the caches
        calendar.add(start, duration)
    add = calendar.add
    began = time.perf_counter()
    for start, duration in zip(starts, durations, strict=True):
        add(start, duration)
    return calls / (time.perf_counter() - began)


def betweens_per_second(calendar: WorkingTime, calls: int = CALLS // 5) -> float:
    starts = _starts(calls, random.Random(SEED))
    month = timedelta(days=30)
    for start in starts:
        calendar.between(start, start + month)
    between = calendar.between
    began = time.perf_counter()
    for start in starts:
        between(start, start + month)
    return calls / (time.perf_counter() - began)


def cold_additions_per_second(calls: int = 1_000) -> float:
    """A fresh calendar per call: what a due date costs before any span is cached."""
    rng = random.Random(SEED)
    starts = _starts(calls, rng)
    began = time.perf_counter()
    for start in starts:
        _office().add(start, timedelta(hours=4))
    return calls / (time.perf_counter() - began)


def report() -> None:
    office = _office()
    always = WorkingTime("UTC", [], always_open=True)
    checked = WorkingTime("Europe/Berlin", [], BERLIN_HOLIDAYS.__contains__, always_open=True)
    rows = [
        ("add(): Mon-Fri 09-18 + lunch, holidays, Europe/Berlin",
         additions_per_second(office), "additions/s"),
        ("add(): 24/7", additions_per_second(always), "additions/s"),
        ("add(): 24/7 with a day-off predicate, Europe/Berlin",
         additions_per_second(checked), "additions/s"),
        ("between(): one month span, Mon-Fri + lunch, holidays",
         betweens_per_second(office), "calls/s"),
        ("add() on a fresh calendar (cold caches, incl. building it)",
         cold_additions_per_second(), "additions/s"),
    ]
    print("\nWorking-time arithmetic (pure, one core):")
    for label, rate, unit in rows:
        print(f"  {label:<56} {rate:10,.0f} {unit}")


if __name__ == "__main__":
    report()
