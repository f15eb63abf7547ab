"""The local EventBridge loop: periods on a fake clock, failure isolation, prompt stop, and
the Scheduled Event shape."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest

from devstack.scheduler import Job, Scheduler, scheduled_event
from tests.support.timeouts import HANG_GUARD


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def test_jobs_run_at_their_own_periods_first_after_one_period() -> None:
    clock, calls = FakeClock(), []
    scheduler = Scheduler([Job("minute", 60, lambda: calls.append("minute")),
                           Job("five", 300, lambda: calls.append("five"))], clock=clock)
    assert scheduler.tick() == []  # nothing at start: the first run is one period in
    clock.advance(59.9)
    assert scheduler.tick() == []
    clock.advance(0.1)
    assert scheduler.tick() == ["minute"]
    assert scheduler.tick() == []  # once per period, however often we tick
    for _ in range(4):
        clock.advance(60)
        scheduler.tick()
    assert calls == ["minute"] * 5 + ["five"]
    assert scheduler.stats["minute"].runs == 5
    assert scheduler.stats["five"].runs == 1
    assert scheduler.next_due_in() == pytest.approx(60)


def test_missed_periods_are_skipped_not_caught_up() -> None:
    clock, calls = FakeClock(), []
    scheduler = Scheduler([Job("minute", 60, lambda: calls.append("minute"))], clock=clock)
    clock.advance(60 * 10 + 5)  # e.g. the laptop slept
    assert scheduler.tick() == ["minute"]
    assert scheduler.tick() == []
    assert scheduler.next_due_in() == pytest.approx(55)  # the phase is kept


def test_a_failing_job_is_logged_and_the_others_keep_running(
        caplog: pytest.LogCaptureFixture) -> None:
    clock, calls = FakeClock(), []

    def broken() -> None:
        raise RuntimeError("sla scan failed")

    scheduler = Scheduler([Job("broken", 60, broken),
                           Job("healthy", 60, lambda: calls.append("healthy"))], clock=clock)
    with caplog.at_level(logging.ERROR, logger="devstack.scheduler"):
        for _ in range(3):
            clock.advance(60)
            assert sorted(scheduler.tick()) == ["broken", "healthy"]
    assert calls == ["healthy"] * 3
    assert scheduler.stats["broken"].failures == 3
    assert isinstance(scheduler.stats["broken"].last_error, RuntimeError)
    assert "scheduled job broken failed" in caplog.text
    assert "Traceback" in caplog.text and "sla scan failed" in caplog.text


def test_the_loop_thread_runs_jobs_and_survives_failures() -> None:
    ran = threading.Event()
    count = [0]

    def flaky() -> None:
        count[0] += 1
        if count[0] == 1:
            raise RuntimeError("first run fails")
        ran.set()

    scheduler = Scheduler([Job("flaky", 0.02, flaky)], max_sleep=0.05).start()
    try:
        assert ran.wait(HANG_GUARD), "the loop stopped after the failing run"
    finally:
        scheduler.stop()
    assert scheduler.stats["flaky"].failures == 1


def test_stop_wakes_the_loop_from_a_long_wait() -> None:
    """Stopped while waiting an hour for its next run, the loop ends at once: stop() returns
    with the thread gone (its join would give up only after a timeout, the thread alive)."""
    waiting = threading.Event()

    class NoticedWait(threading.Event):
        def wait(self, timeout: float | None = None) -> bool:
            waiting.set()
            return super().wait(timeout)

    scheduler = Scheduler([Job("hourly", 3600, lambda: None)], max_sleep=3600)
    scheduler._stopping = NoticedWait()  # tells the test when the loop has begun its wait
    scheduler.start()
    loop = scheduler._thread
    assert loop is not None
    assert waiting.wait(HANG_GUARD), "the loop never began to wait"
    scheduler.stop(timeout=HANG_GUARD)
    assert not loop.is_alive()
    assert scheduler.stats["hourly"].runs == 0  # woken by the stop, not by a run falling due
    scheduler.stop()  # idempotent


def test_invalid_jobs_are_refused() -> None:
    with pytest.raises(ValueError):
        Scheduler([Job("zero", 0, lambda: None)])
    with pytest.raises(ValueError):
        Scheduler([Job("twin", 60, lambda: None), Job("twin", 30, lambda: None)])


def test_scheduled_event_is_shaped_like_eventbridge() -> None:
    arn = "arn:aws:events:eu-west-1:123456789012:rule/SlaSchedulerEveryMinute"
    moment = datetime(2026, 11, 23, 12, 30, 15, 999000, tzinfo=timezone(timedelta(hours=3)))
    event = scheduled_event(arn, moment)
    assert event == {
        "version": "0",
        "id": event["id"],
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-11-23T09:30:15Z",
        "region": "eu-west-1",
        "resources": [arn],
        "detail": {},
    }
    assert len(event["id"]) == 36
    assert scheduled_event(arn, datetime(2026, 1, 1))["time"] == "2026-01-01T00:00:00Z"
    assert scheduled_event(arn, datetime.now(UTC))["id"] != event["id"]
    with pytest.raises(ValueError):
        scheduled_event("not-an-arn", moment)
