"""The per-endpoint circuit breaker: pure logic, then through real deliveries."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from helpdesk.webhooks_out import CircuitOpen, WebhookTarget, deliver_webhook
from helpdesk.webhooks_out.breaker import BreakerState, allows, closed, normalize, record
from tests.webhooks_out.conftest import SECRET, Receiver, Reply


def failed(times: int, now: datetime, state: BreakerState | None = None) -> BreakerState:
    state = state or closed()
    for _ in range(times):
        state = record(state, False, now)
    return state


def test_opens_after_five_consecutive_failures(now: datetime):
    four = failed(4, now)
    assert allows(four, now) and four["failures"] == 4
    five = record(four, False, now)
    assert not allows(five, now)
    assert not allows(five, now + timedelta(minutes=9, seconds=59))
    assert allows(five, now + timedelta(minutes=10))


def test_a_success_resets_the_count(now: datetime):
    state = record(failed(4, now), True, now)
    assert state == closed()
    assert allows(failed(4, now, state), now)


def test_a_failed_trial_reopens_for_twice_as_long_up_to_six_hours(now: datetime):
    state = failed(5, now)
    at = now
    cooldowns = []
    for _ in range(8):
        at = datetime.fromtimestamp(state["opened_until"], now.tzinfo)  # cool-down over
        assert allows(state, at)
        opened_at = at
        state = record(state, False, at)  # the trial fails
        cooldowns.append(state["opened_until"] - int(opened_at.timestamp()))
    assert cooldowns == [1200, 2400, 4800, 9600, 19200, 21600, 21600, 21600]
    assert record(state, True, at) == closed()


def test_late_failures_while_open_do_not_extend_it(now: datetime):
    state = failed(5, now)
    later = failed(10, now + timedelta(minutes=1), state)
    assert later["opened_until"] == state["opened_until"]
    assert later["openings"] == 1


def test_stored_state_is_read_leniently(now: datetime):
    assert normalize(None) == closed()
    stored = {"failures": Decimal(5), "opened_until": Decimal(int(now.timestamp()) + 60),
              "openings": Decimal(1)}
    assert not allows(stored, now)
    assert record(stored, True, now) == closed()
    assert allows({}, now)


@pytest.mark.usefixtures("allow_localhost")
def test_through_deliveries_opens_fails_fast_and_closes_after_cool_down(receiver: Receiver,
                                                                        now: datetime):
    target = WebhookTarget(receiver.url, SECRET)
    receiver.replies = [Reply(503)] * 5
    for attempt in range(5):
        result = deliver_webhook(target, "d-1", "created", {"n": attempt},
                                 now + timedelta(seconds=attempt))
        assert not result.delivered
        target = WebhookTarget(receiver.url, SECRET, result.breaker)
    assert len(receiver.requests) == 5

    fast = deliver_webhook(target, "d-2", "created", {}, now + timedelta(minutes=5))
    assert isinstance(fast.failure, CircuitOpen)
    assert "circuit open until" in str(fast.failure)
    assert fast.breaker == target.breaker  # failing fast changes nothing
    assert len(receiver.requests) == 5  # the endpoint was left alone

    healed = deliver_webhook(target, "d-2", "created", {}, now + timedelta(minutes=11))
    assert healed.delivered and healed.breaker == closed()
    assert len(receiver.requests) == 6
