"""devstack.sfn_clock: Step Functions Wait states and Retry intervals, run by moto, follow the
given clock. The clock here stands still unless a test moves it, so a workflow that finishes
did so because the clock moved, not because real time passed."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from devstack import sfn_clock
from tests.support.timeouts import HANG_GUARD

ROLE = "arn:aws:iam::123456789012:role/workflow"
HOUR = 3600


class StoppedClock:
    """Moves only when told to (from the test's thread while executions read it)."""

    def __init__(self, start: datetime) -> None:
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> StoppedClock:
    return StoppedClock(datetime(2026, 11, 23, 22, 0, tzinfo=UTC))


@pytest.fixture
def stepfunctions(clock: StoppedClock) -> Iterator[Any]:
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        sfn_clock.install(clock)
        client = boto3.client("stepfunctions", region_name="us-east-1")
        try:
            yield client
        finally:
            # No waiting execution outlives its test (a later test's clock could keep it).
            for machine in client.list_state_machines()["stateMachines"]:
                for run in client.list_executions(stateMachineArn=machine["stateMachineArn"],
                                                  statusFilter="RUNNING")["executions"]:
                    client.stop_execution(executionArn=run["executionArn"])
            sfn_clock.uninstall()
            # ... and has left the patch's wait: the next test counts the waiting threads.
            assert _eventually(lambda: _waiting_threads() == 0)


def _run(client: Any, states: dict[str, Any], given: dict[str, Any] | None = None) -> str:
    name = f"m{time.monotonic_ns()}"
    machine = client.create_state_machine(
        name=name, roleArn=ROLE,
        definition=json.dumps({"StartAt": next(iter(states)), "States": states}))
    return client.start_execution(stateMachineArn=machine["stateMachineArn"],
                                  input=json.dumps(given or {}))["executionArn"]


def _status(client: Any, execution: str) -> str:
    return client.describe_execution(executionArn=execution)["status"]


def _eventually(check: Callable[[], bool], seconds: float = HANG_GUARD) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _stays(check: Callable[[], bool], seconds: float = 0.8) -> bool:
    """`check` holds all along (several of the patch's slices). It can only pass wrongly on a
    slow machine, never fail wrongly."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not check():
            return False
        time.sleep(0.05)
    return True


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


WAITS: dict[str, Callable[[datetime], tuple[dict[str, Any], dict[str, Any]]]] = {
    "Seconds": lambda now: ({"Seconds": HOUR}, {}),
    "SecondsPath": lambda now: ({"SecondsPath": "$.seconds"}, {"seconds": HOUR}),
    "Timestamp": lambda now: ({"Timestamp": _stamp(now + timedelta(seconds=HOUR))}, {}),
    "TimestampPath": lambda now: ({"TimestampPath": "$.at"},
                                  {"at": _stamp(now + timedelta(seconds=HOUR))}),
}


@pytest.mark.parametrize("form", list(WAITS))
def test_a_wait_of_an_hour_ends_when_the_clock_has_moved_an_hour(stepfunctions, clock, form):
    wait, given = WAITS[form](clock())
    execution = _run(stepfunctions, {"Hold": {"Type": "Wait", **wait, "Next": "Done"},
                                     "Done": {"Type": "Succeed"}}, given)

    # Moved only once the wait has begun: a wait started later would count from the moved
    # clock (a `Seconds` wait takes its deadline when it starts).
    assert _eventually(_one_waiting)
    assert _stays(lambda: _status(stepfunctions, execution) == "RUNNING")
    clock.advance(HOUR - 60)
    assert _stays(lambda: _status(stepfunctions, execution) == "RUNNING")
    clock.advance(60)
    assert _eventually(lambda: _status(stepfunctions, execution) == "SUCCEEDED")


def test_a_wait_until_a_past_timestamp_proceeds_at_once(stepfunctions, clock):
    # A day ahead of real time, a day behind the clock: past is the clock's past.
    clock.advance(365 * 86400)
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    execution = _run(stepfunctions, {"Hold": {"Type": "Wait", "TimestampPath": "$.at",
                                              "Next": "Done"},
                                     "Done": {"Type": "Succeed"}}, {"at": _stamp(tomorrow)})
    assert _eventually(lambda: _status(stepfunctions, execution) == "SUCCEEDED")


def test_a_bad_timestamp_still_fails_the_execution(stepfunctions):
    execution = _run(stepfunctions, {"Hold": {"Type": "Wait", "TimestampPath": "$.at",
                                              "Next": "Done"},
                                     "Done": {"Type": "Succeed"}}, {"at": "tomorrow"})
    assert _eventually(lambda: _status(stepfunctions, execution) == "FAILED")


def test_retry_intervals_follow_the_clock_and_attempts_stay_as_declared(stepfunctions, clock):
    # Invoking a function that does not exist fails every time: three attempts in all.
    execution = _run(stepfunctions, {"Deliver": {
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "missing"},
        "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": HOUR, "MaxAttempts": 2,
                   "BackoffRate": 2.0}],
        "End": True}})

    def attempts() -> int:
        events = stepfunctions.get_execution_history(executionArn=execution)["events"]
        return sum(event["type"] == "TaskScheduled" for event in events)

    # The clock moves only once the failed attempt's retrier waits: a wait begun later would
    # count its interval from the moved clock.
    assert _eventually(lambda: attempts() == 1)
    assert _eventually(_one_waiting)
    assert _stays(lambda: attempts() == 1)
    clock.advance(HOUR)
    assert _eventually(lambda: attempts() == 2)
    assert _eventually(_one_waiting)  # the second retry's wait (the first one was left)
    assert _stays(lambda: attempts() == 2)
    clock.advance(2 * HOUR - 60)  # the second interval is twice as long
    assert _stays(lambda: attempts() == 2 and _status(stepfunctions, execution) == "RUNNING")
    clock.advance(60)
    assert _eventually(lambda: _status(stepfunctions, execution) == "FAILED")
    assert attempts() == 3


def test_stopping_an_execution_ends_its_wait(stepfunctions):
    execution = _run(stepfunctions, {"Hold": {"Type": "Wait", "Seconds": HOUR, "End": True}})
    assert _eventually(_one_waiting)
    stepfunctions.stop_execution(executionArn=execution)
    assert _eventually(lambda: _waiting_threads() == 0)  # long before its hour
    assert _status(stepfunctions, execution) == "ABORTED"


def _one_waiting() -> bool:
    return _waiting_threads() == 1


def _waiting_threads() -> int:
    """Threads inside the patch's wait."""
    frames = sys._current_frames().values()
    return sum(any(f.f_code is sfn_clock.wait.__code__ for f in _stack(frame))
               for frame in frames)


def _stack(frame: Any) -> Iterator[Any]:
    while frame is not None:
        yield frame
        frame = frame.f_back


def test_uninstall_gives_moto_its_own_waits_back(clock):
    from moto.stepfunctions.parser.asl.component.common.retry.retrier_decl import RetrierDecl
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.timestamp import (
        Timestamp,
    )
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import (
        WaitFunction,
    )

    before = (WaitFunction._wait_interval, Timestamp._get_wait_seconds, RetrierDecl._eval_body)
    sfn_clock.install(clock)
    sfn_clock.install(clock)  # idempotent
    assert WaitFunction._wait_interval is not before[0]
    sfn_clock.uninstall()
    assert (WaitFunction._wait_interval, Timestamp._get_wait_seconds,
            RetrierDecl._eval_body) == before
    assert abs(sfn_clock.now() - datetime.now(UTC)) < timedelta(seconds=5)
