"""Working time (business hours) arithmetic for SLA timers: pure, standard library only.

A calendar is a time zone, weekly intervals in local wall-clock time and days off.

- An interval belongs to the local date it starts on. A day off (a local date the holidays
  set or predicate names) cancels the intervals that START on that date: a Dec 31 21:00-02:00
  night shift is cancelled by a Dec 31 holiday, and not by a Jan 1 holiday.
- Local wall-clock boundaries become instants through zoneinfo with fold=0: the first
  occurrence of an ambiguous time; a time in a spring-forward gap takes the offset before the
  transition (as zoneinfo does). Durations are real elapsed time, so a 21:00-06:00 night shift
  in Europe/Berlin is 8 h on the night the clocks spring forward and 10 h when they fall back.
  An interval whose end instant is not after its start instant once converted is empty.
- Overlapping or touching spans (duplicates, Mon 21:00-02:00 with Tue 00:00-09:00) are merged,
  so nothing counts twice.
- always_open is 24/7: every local day 00:00-24:00 (intervals ignored); days off still remove
  their whole local day.
- Datetimes in must be timezone-aware; results are UTC. Arithmetic is exact to the microsecond.
- Searches give up with NoWorkingTime after about 3 years (HORIZON_DAYS) without working time.

How: the UTC timeline is cut into fixed blocks of _BLOCK_DAYS; each block holds the merged
working spans clipped to it (integer microseconds since the epoch) and their running totals,
so `add` and `between` are two bisections per block touched.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

HORIZON_DAYS = 1100
MINUTES_PER_DAY = 1440

_BLOCK_DAYS = 8
_DAY_US = 86_400_000_000
_BLOCK_US = _BLOCK_DAYS * _DAY_US
_HORIZON_BLOCKS = -(-HORIZON_DAYS // _BLOCK_DAYS) + 1
_CACHE_BLOCKS = 4096  # ~90 years of blocks per calendar before the caches start over
_US = timedelta(microseconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
# A block's spans come from local dates up to 3 days before and 1 after it: offsets lie within
# -12..+14 h and an interval ends at most two local midnights after its date began.
_DATES_BEFORE, _DATES_AFTER = 3, 1

_Block = tuple[list[int], list[int], list[int]]  # starts, ends, cum (cum[i] = spans before i)


class NoWorkingTime(ValueError):
    """The calendar has no working minute within the search horizon (about 3 years)."""


def _clock_minutes(text: str, what: str) -> int:
    hours, colon, minutes = text.strip().partition(":")
    if not (colon and hours.isascii() and hours.isdigit() and len(hours) <= 2
            and minutes.isascii() and minutes.isdigit() and len(minutes) == 2):
        raise ValueError(f"interval {what} {text!r} is not a time of day: use 'HH:MM'")
    value = int(hours) * 60 + int(minutes)
    if int(minutes) > 59 or value > MINUTES_PER_DAY or (value == MINUTES_PER_DAY
                                                        and what == "start"):
        raise ValueError(f"interval {what} {text!r} is out of range: 00:00-23:59"
                         + (", or 24:00" if what == "end" else ""))
    return value


@dataclass(frozen=True)
class Interval:
    """A weekly working interval in local wall-clock time."""

    weekday: int  # 0 = Monday ... 6 = Sunday: the day the interval STARTS on
    start: int  # minutes after local midnight, 0..1439
    end: int  # minutes after local midnight, 1..1440; end < start runs past midnight

    def __post_init__(self) -> None:
        for name in ("weekday", "start", "end"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"interval {name} must be an integer, not {value!r}")
        if not 0 <= self.weekday <= 6:
            raise ValueError(f"interval weekday {self.weekday} is not 0 (Monday) .. 6 (Sunday)")
        if not 0 <= self.start < MINUTES_PER_DAY:
            raise ValueError(f"interval start {self.start} is not a minute of the day 0..1439")
        if not 0 < self.end <= MINUTES_PER_DAY:
            raise ValueError(f"interval end {self.end} is not a minute of the day 1..1440")
        if self.end == self.start:
            raise ValueError(f"interval start and end are both {self.start}: ambiguous "
                             "(nothing, or a whole day?)")

    @property
    def crosses_midnight(self) -> bool:
        return self.end < self.start

    @staticmethod
    def parse(weekday: int, start: str, end: str) -> Interval:
        """From "HH:MM" times; end may be "24:00", and an end of "00:00" means midnight too."""
        end_minute = _clock_minutes(end, "end")
        return Interval(weekday, _clock_minutes(start, "start"), end_minute or MINUTES_PER_DAY)


def _micros(moment: datetime) -> int:
    try:
        return (moment - _EPOCH) // _US
    except TypeError:  # naive (or not a datetime at all): there is no instant to speak of
        raise ValueError(f"{moment!r} is not a timezone-aware datetime") from None


def _instant(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)


def _worked(block: _Block, moment: int) -> int:
    """Working microseconds in the block before `moment`."""
    starts, ends, cum = block
    i = bisect_right(starts, moment)
    if not i:
        return 0
    over = ends[i - 1] - moment
    return cum[i] - over if over > 0 else cum[i]


class WorkingTime:
    """Working-time arithmetic over one calendar (see the module docstring for semantics)."""

    def __init__(self, timezone: str, intervals: Iterable[Interval],
                 holidays: Callable[[date], bool] | Collection[date] = frozenset(),
                 *, always_open: bool = False) -> None:
        """timezone: an IANA name. holidays: a set of local dates, or a predicate `is this local
        date a day off` (a Mapping such as a `holidays` package calendar is asked live, so its
        lazily filled years work). always_open: 24/7, intervals ignored."""
        try:
            self._zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError, TypeError, OSError):
            raise ValueError(f"unknown time zone {timezone!r}") from None
        self._timezone = timezone
        self._always_open = always_open
        weekly: list[set[tuple[int, int]]] = [set() for _ in range(7)]
        if always_open:
            for minutes in weekly:
                minutes.add((0, MINUTES_PER_DAY))
        else:
            for interval in intervals:
                if not isinstance(interval, Interval):
                    raise ValueError(f"{interval!r} is not an Interval")
                end = interval.end + (MINUTES_PER_DAY if interval.crosses_midnight else 0)
                weekly[interval.weekday].add((interval.start, end))
        self._weekly = tuple(tuple(sorted(minutes)) for minutes in weekly)
        self._empty = not any(self._weekly)
        no_days_off = False
        if callable(holidays):
            self._day_off: Callable[[date], bool] = holidays
        elif isinstance(holidays, Mapping):
            self._day_off = holidays.__contains__
        else:
            days = frozenset(holidays)
            for day in days:
                if not isinstance(day, date) or isinstance(day, datetime):
                    raise ValueError(f"holiday {day!r} is not a date")
            self._day_off = days.__contains__
            no_days_off = not days
        self._plain = always_open and no_days_off  # 24/7 with no days off: plain arithmetic
        self._days: dict[int, list[tuple[int, int]]] = {}
        self._blocks: dict[int, _Block] = {}

    @property
    def timezone(self) -> str:
        return self._timezone

    def __repr__(self) -> str:
        kind = "always open" if self._always_open else f"{sum(map(len, self._weekly))} intervals"
        return f"WorkingTime({self._timezone!r}, {kind})"

    # -- spans -----------------------------------------------------------------------------

    def _day(self, ordinal: int) -> list[tuple[int, int]]:
        """The working spans of intervals starting on one local date, unmerged."""
        spans = self._days.get(ordinal)
        if spans is not None:
            return spans
        spans = []
        try:
            day = date.fromordinal(ordinal)
            midnight = datetime.combine(day, time())
            walls = [(midnight + timedelta(minutes=start), midnight + timedelta(minutes=end))
                     for start, end in self._weekly[day.weekday()]]
        except (ValueError, OverflowError):  # beyond the years datetime can represent
            walls = []
        if walls and not self._day_off(day):
            zone = self._zone
            for wall_start, wall_end in walls:  # replace() leaves fold=0: first occurrence
                start = (wall_start.replace(tzinfo=zone) - _EPOCH) // _US
                end = (wall_end.replace(tzinfo=zone) - _EPOCH) // _US
                if end > start:
                    spans.append((start, end))
        self._days[ordinal] = spans
        return spans

    def _block(self, number: int) -> _Block:
        block = self._blocks.get(number)
        if block is not None:
            return block
        if len(self._blocks) >= _CACHE_BLOCKS:
            self._blocks.clear()
            self._days.clear()
        low, high = number * _BLOCK_US, (number + 1) * _BLOCK_US
        first = _EPOCH_ORDINAL + number * _BLOCK_DAYS - _DATES_BEFORE
        raw: list[tuple[int, int]] = []
        for ordinal in range(first, first + _DATES_BEFORE + _BLOCK_DAYS + _DATES_AFTER + 1):
            raw.extend(self._day(ordinal))
        raw.sort()
        starts: list[int] = []
        ends: list[int] = []
        for start, end in raw:
            start, end = max(start, low), min(end, high)
            if end <= start:
                continue
            if ends and start <= ends[-1]:  # overlapping or touching: one span
                if end > ends[-1]:
                    ends[-1] = end
            else:
                starts.append(start)
                ends.append(end)
        cum = [0]
        for start, end in zip(starts, ends, strict=True):
            cum.append(cum[-1] + end - start)
        block = (starts, ends, cum)
        self._blocks[number] = block
        return block

    def _no_working_time(self) -> NoWorkingTime:
        return NoWorkingTime(f"calendar {self!r} has no working time within about "
                             f"{HORIZON_DAYS} days")

    # -- queries ---------------------------------------------------------------------------

    def is_working(self, moment: datetime) -> bool:
        at = _micros(moment)
        if self._plain:
            return True
        if self._empty:
            return False
        starts, ends, _ = self._block(at // _BLOCK_US)
        i = bisect_right(starts, at)
        return bool(i) and at < ends[i - 1]

    def next_working(self, moment: datetime) -> datetime:
        """`moment` if it is working time, else the start of the next working span."""
        at = _micros(moment)
        if self._plain:
            return _instant(at)
        if self._empty:
            raise self._no_working_time()
        number = at // _BLOCK_US
        starts, ends, _ = self._block(number)
        i = bisect_right(starts, at)
        if i and at < ends[i - 1]:
            return _instant(at)
        for _ in range(_HORIZON_BLOCKS):
            if i < len(starts):
                return _instant(starts[i])
            number += 1
            starts, ends, _ = self._block(number)
            i = 0
        raise self._no_working_time()

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The earliest instant T >= start with between(start, T) == duration: Fri 16:00 + 1 h
        with Mon-Fri 09-17 is Fri 17:00, Fri 16:30 + 1 h is Mon 09:30. A zero duration gives
        start itself (even outside working time)."""
        at = _micros(start)
        if not isinstance(duration, timedelta):
            raise ValueError(f"duration {duration!r} is not a timedelta")
        amount = duration // _US
        if amount < 0:
            raise ValueError(f"duration {duration} is negative")
        if not amount:
            return _instant(at)
        if self._plain:
            return _instant(at + amount)
        if self._empty:
            raise self._no_working_time()
        number = at // _BLOCK_US
        block = self._block(number)
        done = _worked(block, at)
        target = done + amount
        idle = 0
        while True:
            starts, _, cum = block
            total = cum[-1]
            if target <= total:
                j = bisect_left(cum, target) - 1
                return _instant(starts[j] + target - cum[j])
            if total > done:
                idle = 0
            else:
                idle += 1
                if idle > _HORIZON_BLOCKS:
                    raise self._no_working_time()
            target -= total
            done = 0
            number += 1
            block = self._block(number)

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Working time in [start, end); zero when end <= start."""
        low, high = _micros(start), _micros(end)
        if high <= low or self._empty:
            return timedelta(0)
        if self._plain:
            return timedelta(microseconds=high - low)
        first, last = low // _BLOCK_US, high // _BLOCK_US
        block = self._block(first)
        if first == last:
            return timedelta(microseconds=_worked(block, high) - _worked(block, low))
        total = block[2][-1] - _worked(block, low)
        for number in range(first + 1, last):
            total += self._block(number)[2][-1]
        return timedelta(microseconds=total + _worked(self._block(last), high))

    def spans(self, start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
        """The merged working spans clipped to [start, end), in order, as UTC instants."""
        return self._spans(_micros(start), _micros(end))

    def _spans(self, low: int, high: int) -> Iterator[tuple[datetime, datetime]]:
        if high <= low or self._empty:
            return
        if self._plain:
            yield _instant(low), _instant(high)
            return
        pending: tuple[int, int] | None = None
        for number in range(low // _BLOCK_US, (high - 1) // _BLOCK_US + 1):
            starts, ends, _ = self._block(number)
            for i in range(max(bisect_right(starts, low) - 1, 0), len(starts)):
                span_start, span_end = max(starts[i], low), min(ends[i], high)
                if span_start >= high:
                    break
                if span_end <= span_start:
                    continue
                if pending is not None and pending[1] == span_start:  # split by a block edge
                    pending = (pending[0], span_end)
                    continue
                if pending is not None:
                    yield _instant(pending[0]), _instant(pending[1])
                pending = (span_start, span_end)
        if pending is not None:
            yield _instant(pending[0]), _instant(pending[1])
