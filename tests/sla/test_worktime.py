"""Working-time arithmetic as an SLA clock sees it: known hard cases with exact instants, then
properties against an independent minute-by-minute walker written straight from the spec."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from functools import cache
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk.sla.worktime import HORIZON_DAYS, Interval, NoWorkingTime, WorkingTime

BERLIN = ZoneInfo("Europe/Berlin")
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
MON_FRI_9_17 = [Interval.parse(day, "09:00", "17:00") for day in range(5)]
LUNCH_BREAK = [interval for day in range(5) for interval in (
    Interval.parse(day, "09:00", "13:00"), Interval.parse(day, "14:00", "18:00"))]
NIGHTS_MON_FRI = [Interval.parse(day, "21:00", "02:00") for day in range(5)]


def berlin(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=BERLIN)


# -- known hard cases --------------------------------------------------------------------------

def test_friday_half_past_four_plus_an_hour_is_monday_half_past_nine():
    desk = WorkingTime("Europe/Berlin", MON_FRI_9_17)
    due = desk.add(berlin(2026, 1, 16, 16, 30), HOUR)
    assert due == berlin(2026, 1, 19, 9, 30)
    assert due.tzinfo is UTC


def test_an_hour_ending_exactly_at_close_stays_on_friday():
    desk = WorkingTime("Europe/Berlin", MON_FRI_9_17)
    assert desk.add(berlin(2026, 1, 16, 16, 0), HOUR) == berlin(2026, 1, 16, 17, 0)
    assert not desk.is_working(berlin(2026, 1, 16, 17, 0))  # closing time is not working
    assert desk.next_working(berlin(2026, 1, 16, 17, 0)) == berlin(2026, 1, 19, 9, 0)
    assert desk.next_working(berlin(2026, 1, 16, 10, 0)) == berlin(2026, 1, 16, 10, 0)


@pytest.mark.parametrize("form", ["set", "predicate", "mapping"])
def test_a_public_holiday_monday_is_skipped(form):
    whit_monday = date(2026, 5, 25)
    holidays = {"set": {whit_monday}, "predicate": lambda day: day == whit_monday,
                "mapping": {whit_monday: "Whit Monday"}}[form]
    desk = WorkingTime("Europe/Berlin", MON_FRI_9_17, holidays)
    assert desk.add(berlin(2026, 5, 22, 16, 30), HOUR) == berlin(2026, 5, 26, 9, 30)
    assert desk.between(berlin(2026, 5, 22, 0, 0), berlin(2026, 5, 27, 0, 0)) == 16 * HOUR


def test_the_holidays_package_plugs_in_as_it_is():
    holidays = pytest.importorskip("holidays")
    desk = WorkingTime("Europe/Berlin", MON_FRI_9_17, holidays.country_holidays("DE"))
    assert desk.add(berlin(2026, 5, 22, 16, 30), HOUR) == berlin(2026, 5, 26, 9, 30)
    assert desk.add(berlin(2026, 12, 23, 16, 30), HOUR) == berlin(2026, 12, 24, 9, 30)
    assert desk.add(berlin(2026, 12, 24, 16, 30), HOUR) == berlin(2026, 12, 28, 9, 30)


def test_a_night_shift_runs_past_midnight_and_into_saturday():
    desk = WorkingTime("Europe/Berlin", NIGHTS_MON_FRI)
    assert desk.add(berlin(2026, 1, 12, 22, 0), 3 * HOUR) == berlin(2026, 1, 13, 1, 0)
    assert desk.add(berlin(2026, 1, 13, 1, 30), HOUR) == berlin(2026, 1, 13, 21, 30)
    # Friday's shift runs into Saturday 02:00; the next one starts on Monday evening.
    assert desk.add(berlin(2026, 1, 16, 23, 0), 3 * HOUR) == berlin(2026, 1, 17, 2, 0)
    assert desk.add(berlin(2026, 1, 17, 1, 30), HOUR) == berlin(2026, 1, 19, 21, 30)
    assert desk.is_working(berlin(2026, 1, 17, 1, 59))
    assert not desk.is_working(berlin(2026, 1, 17, 21, 30))
    assert not desk.is_working(berlin(2026, 1, 19, 1, 0))  # Sunday started no shift
    assert desk.between(berlin(2026, 1, 12, 0, 0), berlin(2026, 1, 19, 0, 0)) == 25 * HOUR


def test_a_holiday_cancels_the_night_shift_that_starts_on_it():
    new_years_eve = WorkingTime("Europe/Berlin", NIGHTS_MON_FRI, {date(2026, 12, 31)})
    assert not new_years_eve.is_working(berlin(2026, 12, 31, 22, 0))
    assert not new_years_eve.is_working(berlin(2027, 1, 1, 1, 0))
    assert new_years_eve.is_working(berlin(2027, 1, 1, 22, 0))

    new_year = WorkingTime("Europe/Berlin", NIGHTS_MON_FRI, {date(2027, 1, 1)})
    assert new_year.is_working(berlin(2027, 1, 1, 1, 0))  # Dec 31's shift goes on
    assert not new_year.is_working(berlin(2027, 1, 1, 22, 0))
    assert new_year.add(berlin(2027, 1, 1, 1, 0), 2 * HOUR) == berlin(2027, 1, 4, 22, 0)


def test_a_lunch_break_is_not_working_time():
    desk = WorkingTime("Europe/Berlin", LUNCH_BREAK)
    assert desk.add(berlin(2026, 1, 12, 12, 30), HOUR) == berlin(2026, 1, 12, 14, 30)
    assert desk.add(berlin(2026, 1, 12, 12, 30), 30 * MINUTE) == berlin(2026, 1, 12, 13, 0)
    assert desk.between(berlin(2026, 1, 12, 9, 0), berlin(2026, 1, 12, 18, 0)) == 8 * HOUR
    assert list(desk.spans(berlin(2026, 1, 12, 0, 0), berlin(2026, 1, 13, 0, 0))) == [
        (berlin(2026, 1, 12, 9, 0), berlin(2026, 1, 12, 13, 0)),
        (berlin(2026, 1, 12, 14, 0), berlin(2026, 1, 12, 18, 0))]


@pytest.mark.parametrize("holidays", [frozenset(), lambda day: False],
                         ids=["plain", "with-day-off-check"])
def test_a_24_7_calendar_adds_real_hours_across_dst(holidays):
    desk = WorkingTime("Europe/Berlin", [], holidays, always_open=True)
    assert desk.add(berlin(2026, 3, 28, 12, 0), 24 * HOUR) == berlin(2026, 3, 29, 13, 0)
    assert desk.add(berlin(2026, 10, 24, 12, 0), 24 * HOUR) == berlin(2026, 10, 25, 11, 0)
    assert desk.between(berlin(2026, 3, 29, 0, 0), berlin(2026, 3, 30, 0, 0)) == 23 * HOUR
    assert desk.between(berlin(2026, 10, 25, 0, 0), berlin(2026, 10, 26, 0, 0)) == 25 * HOUR


def test_a_night_shift_is_8_hours_in_spring_and_10_in_autumn():
    desk = WorkingTime("Europe/Berlin", [Interval.parse(d, "21:00", "06:00") for d in range(7)])
    assert desk.between(berlin(2026, 3, 28, 12, 0), berlin(2026, 3, 29, 12, 0)) == 8 * HOUR
    assert desk.between(berlin(2026, 10, 24, 12, 0), berlin(2026, 10, 25, 12, 0)) == 10 * HOUR
    assert desk.add(berlin(2026, 3, 28, 21, 0), 8 * HOUR) == berlin(2026, 3, 29, 6, 0)
    assert desk.add(berlin(2026, 10, 24, 21, 0), 10 * HOUR) == berlin(2026, 10, 25, 6, 0)
    assert desk.add(berlin(2026, 10, 24, 21, 0), 9 * HOUR) == berlin(2026, 10, 25, 5, 0)


def test_office_hours_across_the_dst_weekends():
    desk = WorkingTime("Europe/Berlin", MON_FRI_9_17)
    assert desk.add(berlin(2026, 3, 27, 16, 30), HOUR) == berlin(2026, 3, 30, 9, 30)
    assert desk.add(berlin(2026, 10, 23, 16, 30), HOUR) == berlin(2026, 10, 26, 9, 30)
    assert desk.between(berlin(2026, 3, 23, 0, 0), berlin(2026, 4, 6, 0, 0)) == 80 * HOUR


def test_wall_clock_boundaries_in_dst_changes_take_the_first_occurrence():
    def hours(start: str, end: str, day: date) -> timedelta:
        desk = WorkingTime("Europe/Berlin", [Interval.parse(day.weekday(), start, end)])
        return desk.between(berlin(day.year, day.month, day.day),
                            berlin(day.year, day.month, day.day + 1))

    spring, autumn = date(2026, 3, 29), date(2026, 10, 25)
    # 02:30 does not exist in spring: read with the offset before (01:30 UTC = 03:30 CEST).
    assert hours("01:00", "02:30", spring) == 90 * MINUTE
    assert hours("02:30", "04:00", spring) == 30 * MINUTE
    assert hours("02:30", "03:00", spring) == timedelta(0)  # ends before it starts: empty
    # 02:30 happens twice in autumn: the first one (CEST) counts.
    assert hours("02:30", "04:00", autumn) == 150 * MINUTE
    assert hours("01:00", "02:30", autumn) == 90 * MINUTE
    desk = WorkingTime("Europe/Berlin", [Interval.parse(6, "02:30", "04:00")])
    assert desk.next_working(berlin(2026, 10, 25, 0, 0)) == datetime(2026, 10, 25, 0, 30,
                                                                      tzinfo=UTC)


@pytest.mark.parametrize("zone", ["Etc/GMT+12", "Etc/GMT-14", "Pacific/Kiritimati",
                                  "America/New_York", "Asia/Kolkata"])
def test_long_shifts_in_far_off_zones_count_every_day(zone):
    # 23:00 until 22:59 the next day, every day: one minute off a day, spans overlap no day.
    desk = WorkingTime(zone, [Interval(day, 1380, 1379) for day in range(7)],
                       {date(2026, 1, 20)})
    local = ZoneInfo(zone)
    start, end = datetime(2026, 1, 1, 23, 0, tzinfo=local), datetime(2026, 2, 20, 23, 0,
                                                                     tzinfo=local)
    spans = list(desk.spans(start, end))
    assert len(spans) == 49  # 50 shifts, Jan 20's cancelled
    assert all(stop - begin == 1439 * MINUTE for begin, stop in spans)
    assert desk.between(start, end) == 49 * 1439 * MINUTE
    assert desk.add(start, 49 * 1439 * MINUTE) == datetime(2026, 2, 20, 22, 59, tzinfo=local)


def test_moscow_has_no_dst():
    desk = WorkingTime("Europe/Moscow", [Interval.parse(d, "09:00", "18:00") for d in range(5)])
    for month, day in ((1, 14), (7, 15)):
        spans = list(desk.spans(datetime(2026, month, day, tzinfo=UTC),
                                datetime(2026, month, day + 1, tzinfo=UTC)))
        assert spans == [(datetime(2026, month, day, 6, 0, tzinfo=UTC),
                          datetime(2026, month, day, 15, 0, tzinfo=UTC))]


def test_year_end_holidays_push_to_the_next_working_day():
    desk = WorkingTime("Europe/Berlin", MON_FRI_9_17, {date(2026, 1, 1), date(2026, 1, 2)})
    assert desk.add(berlin(2025, 12, 31, 16, 30), HOUR) == berlin(2026, 1, 5, 9, 30)


def test_a_holiday_removes_its_whole_local_day_from_24_7():
    desk = WorkingTime("Europe/Berlin", [], {date(2026, 1, 14)}, always_open=True)
    assert desk.between(berlin(2026, 1, 13, 0, 0), berlin(2026, 1, 16, 0, 0)) == 48 * HOUR
    assert desk.add(berlin(2026, 1, 13, 23, 0), 2 * HOUR) == berlin(2026, 1, 15, 1, 0)
    assert not desk.is_working(berlin(2026, 1, 14, 12, 0))
    assert desk.next_working(berlin(2026, 1, 14, 12, 0)) == berlin(2026, 1, 15, 0, 0)


def test_overlapping_and_duplicate_intervals_count_once():
    desk = WorkingTime("UTC", [Interval.parse(0, "21:00", "02:00"),
                               Interval.parse(0, "21:00", "02:00"),
                               Interval.parse(1, "00:00", "09:00")])
    monday = datetime(2026, 1, 12, tzinfo=UTC)
    assert desk.between(monday, monday + timedelta(days=7)) == 12 * HOUR
    assert list(desk.spans(monday, monday + timedelta(days=7))) == [
        (monday + 21 * HOUR, monday + 33 * HOUR)]
    assert desk.add(monday + 20 * HOUR, 12 * HOUR) == monday + 33 * HOUR


def test_a_calendar_without_working_time():
    desk = WorkingTime("UTC", [])
    moment = datetime(2026, 1, 12, tzinfo=UTC)
    with pytest.raises(NoWorkingTime):
        desk.add(moment, HOUR)
    with pytest.raises(NoWorkingTime):
        desk.next_working(moment)
    assert desk.between(moment, moment + timedelta(days=30)) == timedelta(0)
    assert not desk.is_working(moment)
    assert list(desk.spans(moment, moment + timedelta(days=30))) == []
    assert desk.add(moment, timedelta(0)) == moment


def test_every_day_off_gives_up_after_the_horizon():
    desk = WorkingTime("UTC", [], lambda day: True, always_open=True)
    with pytest.raises(NoWorkingTime):
        desk.add(datetime(2026, 1, 12, tzinfo=UTC), MINUTE)
    with pytest.raises(ValueError, match="no working time"):  # NoWorkingTime is a ValueError
        desk.next_working(datetime(2026, 1, 12, tzinfo=UTC))


def test_giving_up_names_the_calendar():
    # What an SLA error shows: which calendar (zone, 24/7 or how many weekly intervals) has no
    # working time left.
    closed_for_good = WorkingTime("UTC", [], lambda day: True, always_open=True)
    with pytest.raises(NoWorkingTime) as error:
        closed_for_good.add(datetime(2026, 1, 12, tzinfo=UTC), MINUTE)
    assert str(error.value) == ("calendar WorkingTime('UTC', always open) has no working "
                                "time within about 1100 days")
    office_shut = WorkingTime("Europe/Berlin", LUNCH_BREAK, lambda day: True)
    with pytest.raises(NoWorkingTime) as error:
        office_shut.next_working(datetime(2026, 1, 12, tzinfo=UTC))
    assert str(error.value) == ("calendar WorkingTime('Europe/Berlin', 10 intervals) has no "
                                "working time within about 1100 days")


def test_a_long_gap_within_the_horizon_is_crossed():
    reopening = date(2028, 1, 3)
    desk = WorkingTime("UTC", MON_FRI_9_17, lambda day: day < reopening)
    assert desk.add(datetime(2026, 1, 12, tzinfo=UTC), HOUR) == datetime(2028, 1, 3, 10,
                                                                         tzinfo=UTC)


def test_zero_duration_is_the_start_itself_even_outside_hours():
    desk = WorkingTime("Europe/Berlin", MON_FRI_9_17)
    saturday = berlin(2026, 1, 17, 10, 0)
    assert desk.add(saturday, timedelta(0)) == saturday
    assert desk.add(saturday, timedelta(0)).tzinfo is UTC


def test_arithmetic_is_exact_to_the_microsecond():
    desk = WorkingTime("Europe/Berlin", MON_FRI_9_17)
    tick = timedelta(microseconds=1)
    almost = berlin(2026, 1, 12, 16, 59, 59, 999_999)
    assert desk.add(almost, tick) == berlin(2026, 1, 12, 17, 0)
    assert desk.add(almost, 2 * tick) == berlin(2026, 1, 13, 9, 0, 0, 1)
    assert desk.between(almost, berlin(2026, 1, 13, 9, 0, 0, 1)) == 2 * tick


def test_long_durations_and_any_input_zone():
    desk = WorkingTime("Europe/Berlin", MON_FRI_9_17)
    monday = datetime(2026, 1, 12, 13, 0, tzinfo=timezone(timedelta(hours=5)))  # 09:00 Berlin
    assert desk.add(monday, 40 * HOUR) == berlin(2026, 1, 16, 17, 0)
    due = desk.add(monday, 1000 * HOUR)
    assert desk.between(monday, due) == 1000 * HOUR
    assert due == berlin(2026, 7, 3, 17, 0)  # 125 working days = 25 weeks, no holidays here


def test_timezone_is_kept():
    assert WorkingTime("Asia/Kolkata", MON_FRI_9_17).timezone == "Asia/Kolkata"


def test_naive_datetimes_are_refused():
    desk = WorkingTime("UTC", MON_FRI_9_17)
    naive, aware = datetime(2026, 1, 12, 10, 0), datetime(2026, 1, 12, 10, 0, tzinfo=UTC)
    for call in (lambda: desk.add(naive, HOUR), lambda: desk.between(naive, aware),
                 lambda: desk.between(aware, naive), lambda: desk.next_working(naive),
                 lambda: desk.is_working(naive), lambda: desk.spans(aware, naive)):
        with pytest.raises(ValueError, match="timezone-aware"):
            call()


def test_unknown_time_zone_is_named():
    for name in ("Mars/Olympus_Mons", "Europe", "", "../etc/passwd"):
        with pytest.raises(ValueError, match="unknown time zone") as error:
            WorkingTime(name, MON_FRI_9_17)
        assert repr(name) in str(error.value)


def test_negative_duration_is_refused():
    desk = WorkingTime("UTC", MON_FRI_9_17)
    with pytest.raises(ValueError, match="negative"):
        desk.add(datetime(2026, 1, 12, tzinfo=UTC), -MINUTE)


@pytest.mark.parametrize(("weekday", "start", "end", "problem"), [
    (7, 540, 1020, "weekday"), (-1, 540, 1020, "weekday"), (0, -1, 1020, "start"),
    (0, 1440, 60, "start"), (0, 540, 0, "end"), (0, 540, 1441, "end"),
    (0, 540, 540, "ambiguous"), (0, 540.0, 1020, "integer"), (True, 540, 1020, "integer")])
def test_bad_intervals_are_refused(weekday, start, end, problem):
    with pytest.raises(ValueError, match=problem):
        Interval(weekday, start, end)


def test_intervals_parse_from_clock_times():
    assert Interval.parse(0, "21:00", "02:00") == Interval(0, 1260, 120)
    assert Interval.parse(0, "21:00", "02:00").crosses_midnight
    assert Interval.parse(4, "09:00", "24:00") == Interval(4, 540, 1440)
    assert Interval.parse(4, "18:00", "00:00") == Interval(4, 1080, 1440)
    assert Interval.parse(6, "9:30", "17:45") == Interval(6, 570, 1065)
    for start, end in (("24:00", "01:00"), ("25:00", "26:00"), ("09:60", "10:00"),
                       ("9h", "17h"), ("09:00", "17"), ("", "10:00"), ("09:00", "09:00")):
        with pytest.raises(ValueError):
            Interval.parse(0, start, end)


def test_holiday_sets_take_dates_only():
    with pytest.raises(ValueError, match="not a date"):
        WorkingTime("UTC", MON_FRI_9_17, {datetime(2026, 1, 1, tzinfo=UTC)})


def test_working_time_within_horizon_days_is_always_found():
    # The promise behind NoWorkingTime: closed for HORIZON_DAYS - 1 days, then open again.
    start = datetime(2026, 1, 12, 0, 0, tzinfo=UTC)
    reopening = date(2029, 1, 15)  # a Monday, 1099 days after the start
    assert reopening - start.date() == timedelta(days=HORIZON_DAYS - 1)
    desk = WorkingTime("UTC", MON_FRI_9_17, lambda day: day < reopening)
    assert desk.next_working(start) == datetime(2029, 1, 15, 9, 0, tzinfo=UTC)
    assert desk.add(start, HOUR) == datetime(2029, 1, 15, 10, 0, tzinfo=UTC)


def test_a_closure_of_weeks_after_some_work_is_crossed():
    # Work on Monday and Tuesday, then three and a half weeks closed: the remaining hours
    # come after the closure, whole 8-day stretches without work in between.
    closed = {date(2026, 1, 14) + timedelta(days=n) for n in range(24)}
    desk = WorkingTime("UTC", MON_FRI_9_17, closed)
    monday = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)
    due = desk.add(monday, 20 * HOUR)
    assert due == datetime(2026, 2, 9, 13, 0, tzinfo=UTC)
    assert desk.between(monday, due) == 20 * HOUR
    assert desk.next_working(datetime(2026, 1, 20, tzinfo=UTC)) == datetime(2026, 2, 9, 9, 0,
                                                                            tzinfo=UTC)


def test_arithmetic_stays_exact_in_far_off_years():
    # Microseconds since 1970 outgrow a float's 53 bits after 2255: still exact in 4000.
    desk = WorkingTime("UTC", MON_FRI_9_17)
    monday = datetime(4000, 1, 3, tzinfo=UTC)
    tick = timedelta(microseconds=1)
    almost = monday + 17 * HOUR - tick
    assert desk.add(almost, tick) == monday + 17 * HOUR
    assert desk.add(almost, 3 * tick) == monday + timedelta(days=1, hours=9) + 2 * tick
    assert desk.add(monday + 9 * HOUR + tick, 5 * tick) == monday + 9 * HOUR + 6 * tick
    assert desk.between(almost, monday + timedelta(days=1, hours=9) + 3 * tick) == 4 * tick


def test_spans_start_at_the_window_not_at_a_closing_time_it_starts_on():
    desk = WorkingTime("Europe/Berlin", MON_FRI_9_17)
    assert list(desk.spans(berlin(2026, 1, 12, 17, 0), berlin(2026, 1, 13, 17, 0))) == [
        (berlin(2026, 1, 13, 9, 0), berlin(2026, 1, 13, 17, 0))]
    assert list(desk.spans(berlin(2026, 1, 12, 12, 0), berlin(2026, 1, 12, 12, 0))) == []


@pytest.mark.parametrize("holidays", [frozenset(), {date(2000, 1, 1)}],
                         ids=["plain", "with-day-off-check"])
def test_an_empty_or_backward_window_has_no_spans(holidays):
    desk = WorkingTime("UTC", [], holidays, always_open=True)
    moment = datetime(2026, 1, 12, 10, 0, tzinfo=UTC)
    assert list(desk.spans(moment, moment)) == []
    assert list(desk.spans(moment + HOUR, moment)) == []
    assert list(desk.spans(moment, moment + HOUR)) == [(moment, moment + HOUR)]


def test_spans_are_clipped_to_the_microsecond_at_every_midnight():
    # Around each UTC midnight of two weeks (the arithmetic cuts time into 8-day blocks at
    # some of them), a window ending just after midnight has one span up to its very end.
    desk = WorkingTime("UTC", [], {date(2000, 1, 1)}, always_open=True)
    tick = timedelta(microseconds=1)
    midnights = [datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=n) for n in range(16)]
    for midnight in midnights:
        for end in (midnight - tick, midnight, midnight + tick):
            assert list(desk.spans(midnight - HOUR, end)) == [(midnight - HOUR, end)]
            assert desk.between(midnight - HOUR, end) == end - (midnight - HOUR)


def test_arguments_of_the_wrong_type_are_named():
    desk = WorkingTime("UTC", MON_FRI_9_17)
    with pytest.raises(ValueError, match="duration 60 is not a timedelta"):
        desk.add(datetime(2026, 1, 12, tzinfo=UTC), 60)
    with pytest.raises(ValueError, match=r"\(0, 540, 1020\) is not an Interval"):
        WorkingTime("UTC", [(0, 540, 1020)])


def test_clock_times_are_read_strictly():
    assert Interval.parse(0, "08:59", "17:59") == Interval(0, 539, 1079)
    for start, end in (("09:5", "17:00"), ("009:00", "17:00"), ("09:60", "17:00"),
                       ("09:00", "17:60"), ("٠٩:30", "17:00"), ("09:٣٠", "17:00")):
        with pytest.raises(ValueError):
            Interval.parse(0, start, end)


@pytest.mark.parametrize(("start", "end", "message"), [
    ("9h", "17:00", "interval start '9h' is not a time of day: use 'HH:MM'"),
    ("24:00", "17:00", "interval start '24:00' is out of range: 00:00-23:59"),
    ("09:00", "24:30", "interval end '24:30' is out of range: 00:00-23:59, or 24:00"),
    ("09:00", "09:00", "interval start and end are both 540: ambiguous (nothing, or a whole "
                       "day?)")])
def test_a_bad_clock_time_is_named_with_what_is_allowed(start, end, message):
    with pytest.raises(ValueError) as error:
        Interval.parse(0, start, end)
    assert str(error.value) == message


# -- properties against a brute-force minute walker -------------------------------------------

ZONES = ["UTC", "Europe/Berlin", "Europe/Moscow", "America/New_York", "Australia/Lord_Howe",
         "Asia/Kolkata"]
YEARS = (2011, 2014, 2026)  # Moscow changed its rules in 2011 and 2014


@cache
def _offset_changes(zone_name: str) -> tuple[datetime, ...]:
    """The first UTC hour after each change of the zone's offset in YEARS."""
    zone = ZoneInfo(zone_name)
    found = []
    for year in YEARS:
        day = datetime(year, 1, 1, tzinfo=UTC)
        while day.year == year:
            after = day + timedelta(days=1)
            if day.astimezone(zone).utcoffset() != after.astimezone(zone).utcoffset():
                hour = day
                while hour.astimezone(zone).utcoffset() == day.astimezone(zone).utcoffset():
                    hour += HOUR
                found.append(hour)
            day = after
    return tuple(found)


@cache
def _midnights(zone_name: str) -> tuple[datetime, ...]:
    """Local year ends and a few other local midnights, as UTC instants."""
    zone = ZoneInfo(zone_name)
    return tuple(datetime(year + month // 12, month % 12 + 1, 1 + 9 * (month % 3),
                          tzinfo=zone).astimezone(UTC)
                 for year in YEARS for month in (1, 5, 8, 12))


@dataclass
class Scenario:
    zone: str
    intervals: list[Interval]
    holidays: frozenset[date]
    always_open: bool
    as_predicate: bool
    origin: datetime  # the walked window: `minutes` minutes from here (UTC, minute aligned)
    minutes: int
    calendar: WorkingTime = field(init=False, repr=False)

    def __post_init__(self) -> None:
        holidays = self.holidays
        self.calendar = WorkingTime(self.zone, self.intervals,
                                    (lambda day: day in holidays) if self.as_predicate
                                    else holidays, always_open=self.always_open)

    def at(self, minute: int) -> datetime:
        return self.origin + minute * MINUTE


class Walker:
    """Is a minute working, straight from the spec: some local date D in {the minute's local
    date, the day before} that is no holiday has an interval of D's weekday whose start instant
    <= t < end instant, boundaries read with zoneinfo fold=0."""

    def __init__(self, scenario: Scenario) -> None:
        self.zone = ZoneInfo(scenario.zone)
        self.intervals = ([Interval(day, 0, 1440) for day in range(7)] if scenario.always_open
                          else scenario.intervals)
        self.holidays = scenario.holidays
        self._days: dict[date, list[tuple[datetime, datetime]]] = {}

    def _wall(self, day: date, minute: int) -> datetime:
        day += timedelta(days=minute // 1440)
        minute %= 1440
        return datetime(day.year, day.month, day.day, minute // 60, minute % 60,
                        tzinfo=self.zone).astimezone(UTC)

    def _spans(self, day: date) -> list[tuple[datetime, datetime]]:
        if day not in self._days:
            self._days[day] = [] if day in self.holidays else [
                (self._wall(day, i.start), self._wall(day, i.end + 1440 * (i.end <= i.start)))
                for i in self.intervals if i.weekday == day.weekday()]
        return self._days[day]

    def working(self, moment: datetime) -> bool:
        local = moment.astimezone(self.zone).date()
        return any(start <= moment < end for day in (local, local - timedelta(days=1))
                   for start, end in self._spans(day))

    def walk(self, scenario: Scenario) -> tuple[list[bool], list[int]]:
        """Each minute's verdict, and prefix counts (counts[i] = working minutes before i)."""
        verdicts = [self.working(scenario.at(i)) for i in range(scenario.minutes)]
        counts = [0]
        for verdict in verdicts:
            counts.append(counts[-1] + verdict)
        return verdicts, counts


COMMON_MINUTES = [0, 60, 120, 150, 180, 540, 780, 1020, 1260, 1410, 1439]


def _boundary(draw: st.DrawFn, near: int, *, end: bool) -> int:
    """A boundary minute: a common one, one right at the pivot's wall-clock time (so DST gaps
    and repeated hours get hit), or any."""
    nearby = [(near + shift) % 1440 for shift in (-60, -30, -1, 0, 1, 30, 60)]
    if end:
        nearby = [minute or 1440 for minute in nearby]
    minute = draw(st.one_of(st.sampled_from(COMMON_MINUTES + nearby), st.sampled_from(nearby),
                            st.integers(0, 1439)))
    return (minute or 1440) if end else minute


@st.composite
def scenarios(draw: st.DrawFn, max_minutes: int = 10 * 1440) -> Scenario:
    zone = draw(st.sampled_from(ZONES))
    pivots = [*_offset_changes(zone), *_midnights(zone)]
    pivot = draw(st.one_of(st.sampled_from(pivots), st.sampled_from(_offset_changes(zone) or
                                                                    pivots)))
    local = pivot.astimezone(ZoneInfo(zone))
    near, pivot_day = local.hour * 60 + local.minute, local.weekday()
    intervals = []
    for weekday in range(7):
        least = 1 if weekday in (pivot_day, (pivot_day - 1) % 7) else 0
        for _ in range(draw(st.integers(least, 3 + least))):
            start = _boundary(draw, near, end=False)
            stop = _boundary(draw, near, end=True)
            if stop != start:
                intervals.append(Interval(weekday, start, stop))
    # Mostly a window around the pivot; sometimes one anywhere near it.
    before = draw(st.integers(0, min(2 * 1440, max_minutes - 1)))
    origin = pivot - before * MINUTE
    minutes = draw(st.one_of(st.integers(before + 1, max_minutes),
                             st.integers(1, max_minutes)))
    first_day = origin.astimezone(ZoneInfo(zone)).date()
    holidays = frozenset(first_day + timedelta(days=n)
                         for n in draw(st.sets(st.integers(-2, 11), max_size=5)))
    return Scenario(zone, intervals, holidays, always_open=draw(st.integers(0, 5)) == 0,
                    as_predicate=draw(st.booleans()), origin=origin, minutes=minutes)


def _minutes(count: int) -> timedelta:
    return count * MINUTE


@settings(max_examples=150, deadline=None)
@given(scenarios(), st.data())
def test_between_spans_and_is_working_agree_with_the_walker(scenario, data):
    calendar = scenario.calendar
    verdicts, counts = Walker(scenario).walk(scenario)
    end = scenario.minutes
    assert calendar.between(scenario.at(0), scenario.at(end)) == _minutes(counts[end])
    for _ in range(4):
        low = data.draw(st.integers(0, end))
        high = data.draw(st.integers(low, end))
        assert calendar.between(scenario.at(low), scenario.at(high)) == _minutes(
            counts[high] - counts[low])
        assert calendar.between(scenario.at(high), scenario.at(low)) == timedelta(0)
    assert [calendar.is_working(scenario.at(i)) for i in range(end)] == verdicts

    spans = list(calendar.spans(scenario.at(0), scenario.at(end)))
    covered = [False] * end
    for start, stop in spans:
        assert start.tzinfo is UTC and scenario.at(0) <= start < stop <= scenario.at(end)
        for i in range((start - scenario.origin) // MINUTE, (stop - scenario.origin) // MINUTE):
            covered[i] = True
    assert covered == verdicts
    for (_, stop), (start, _) in pairwise(spans):
        assert stop < start  # merged: never touching
        assert calendar.between(stop, start) == timedelta(0)  # zero outside hours
        assert not calendar.is_working(stop)


@settings(max_examples=150, deadline=None)
@given(scenarios(), st.data())
def test_add_and_next_working_agree_with_the_walker(scenario, data):
    calendar = scenario.calendar
    _, counts = Walker(scenario).walk(scenario)
    end = scenario.minutes
    for _ in range(4):
        first = data.draw(st.integers(0, end - 1))
        amount = data.draw(st.integers(0, max(counts[end] - counts[first] + 2, 0)))
        start = scenario.at(first)
        reached = next((i for i in range(first + 1, end + 1)
                        if counts[i] - counts[first] == amount), None)
        if amount == 0:
            assert calendar.add(start, timedelta(0)) == start
        elif reached is not None:  # the end of the minute where the running count reaches it
            assert calendar.add(start, _minutes(amount)) == scenario.at(reached)
        elif calendar_empty(scenario):
            with pytest.raises(NoWorkingTime):
                calendar.add(start, _minutes(amount))
        else:  # not enough working time in the window: the answer lies beyond it
            assert calendar.add(start, _minutes(amount)) > scenario.at(end)

        upcoming = next((i for i in range(first, end) if counts[i + 1] > counts[i]), None)
        if upcoming is not None:
            assert calendar.next_working(start) == scenario.at(upcoming)
        elif calendar_empty(scenario):
            with pytest.raises(NoWorkingTime):
                calendar.next_working(start)
        else:
            assert calendar.next_working(start) >= scenario.at(end)


def calendar_empty(scenario: Scenario) -> bool:
    return not scenario.intervals and not scenario.always_open


MICROS = st.integers(0, 3 * 24 * 3600 * 10**6).map(lambda n: timedelta(microseconds=n))


@st.composite
def moments(draw: st.DrawFn, scenario: Scenario) -> datetime:
    return scenario.origin + draw(MICROS)


@settings(max_examples=200, deadline=None)
@given(scenarios(max_minutes=1), st.data())
def test_add_is_exact_minimal_monotonic_and_additive(scenario, data):
    calendar = scenario.calendar
    if calendar_empty(scenario):
        return
    start = data.draw(moments(scenario))
    first, second = data.draw(MICROS), data.draw(MICROS)
    due = calendar.add(start, first)
    assert due >= start and due.tzinfo is UTC
    assert calendar.between(start, due) == first
    if first:  # the earliest such instant: a microsecond earlier is not enough
        assert calendar.between(start, due - timedelta(microseconds=1)) < first
    smaller, larger = sorted((first, second))
    assert calendar.add(start, smaller) <= calendar.add(start, larger)
    assert calendar.add(due, second) == calendar.add(start, first + second)


@settings(max_examples=200, deadline=None)
@given(scenarios(max_minutes=1), st.data())
def test_between_is_monotonic_and_additive(scenario, data):
    calendar = scenario.calendar
    a, b, c = sorted(data.draw(moments(scenario)) for _ in range(3))
    assert calendar.between(a, c) == calendar.between(a, b) + calendar.between(b, c)
    assert calendar.between(a, c) >= calendar.between(b, c)
    assert calendar.between(a, c) >= calendar.between(a, b)
    assert sum((stop - begin for begin, stop in calendar.spans(a, c)),
               timedelta(0)) == calendar.between(a, c)
