"""Step Functions waits on the local stack's clock (a patch of moto, applied by devstack).

Why: moto runs the workflows' ASL in-process (LocalStack's interpreter), and its waits use
real time: a `Wait` state sleeps on a `threading.Event` for the seconds it computed once
(`Timestamp`/`TimestampPath` against `datetime.now()`, naive local time), and a `Retry`
sleeps with `time.sleep(interval)`. So a notice held until working hours
(sla_escalation's `WaitForWorkingHours`) or a webhook delivery's backoff (outbound_webhook's
Retry, 30 s doubling) could not be fast-forwarded with POST /_local/clock, although the
handlers all read "now" from that clock.

With `install(clock)`, both wait until the given clock reaches their deadline instead: they
sleep in short slices and read the clock again after each, so moving it forward (from this
or another process: the clock is a file) wakes them within a slice. AWS semantics stay: a
`Wait` until a past timestamp proceeds at once; the Retry's interval, backoff, max delay,
jitter and attempt counts are moto's own computation; only the sleeping differs. A stopped
or failed execution also ends the wait at once, as moto's `Wait` does.

Written against moto 5.2.5 (`WaitFunction._wait_interval`, `Timestamp._get_wait_seconds`,
`RetrierDecl._eval_body`); `uninstall` puts moto's methods back.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

SLICE_SECONDS = 0.2  # how soon a waiting state notices the clock was moved

_lock = threading.Lock()
_clock: Callable[[], datetime] | None = None
_originals: dict[tuple[type, str], Any] = {}


def install(clock: Callable[[], datetime]) -> None:
    """Waits and retry intervals of every execution from now on follow `clock` (timezone-
    aware). Installing again only swaps the clock."""
    global _clock
    from moto.stepfunctions.parser.asl.component.common.retry.retrier_decl import RetrierDecl
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.timestamp import (
        Timestamp,
    )
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import (
        WaitFunction,
    )

    with _lock:
        _clock = clock
        if _originals:
            return
        for owner, name, replacement in (
                (WaitFunction, "_wait_interval", _wait_interval),
                (Timestamp, "_get_wait_seconds", _timestamp_wait_seconds),
                (RetrierDecl, "_eval_body", _retrier_eval_body)):
            _originals[(owner, name)] = owner.__dict__[name]
            setattr(owner, name, replacement)


def uninstall() -> None:
    """moto's real-time waits again (for waits that start after this)."""
    global _clock
    with _lock:
        for (owner, name), original in _originals.items():
            setattr(owner, name, original)
        _originals.clear()
        _clock = None


def now() -> datetime:
    """The installed clock's now (real time when none is)."""
    clock = _clock
    return clock() if clock is not None else datetime.now(UTC)


def wait(seconds: float, interrupted: Callable[[], bool] = lambda: False,
         pulse: threading.Event | None = None) -> None:
    """Returns once the clock has moved `seconds` on from now (at once for 0 or less), or
    `interrupted()` is true. `pulse` (the execution's state-change event) wakes it early
    to check."""
    deadline = now().timestamp() + seconds
    while not interrupted():
        left = deadline - now().timestamp()
        if left <= 0:
            return
        step = min(left, SLICE_SECONDS)
        if pulse is not None:
            pulse.wait(step)
        else:
            time.sleep(step)


def _wait_interval(self: Any, env: Any, wait_seconds: float) -> None:
    # moto: Event.wait(seconds) on real time, re-entered after an unrelated wake-up.
    wait(wait_seconds, lambda: not env.is_running(), env.program_state_event)


def _timestamp_wait_seconds(self: Any, env: Any) -> float:
    # moto's steps (evaluate, parse, fail as AWS does), but the distance is to the clock's
    # now in UTC (moto subtracts naive local time) and keeps its fraction of a second.
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEventException,
    )

    self.string.eval(env=env)
    text: str = env.stack.pop()
    timestamp = self._from_timestamp_string(timestamp=text)
    if timestamp is None:
        raise FailureEventException(self._create_failure_event(env, text))
    return (timestamp.replace(tzinfo=UTC) - now()).total_seconds()


def _retrier_eval_body(self: Any, env: Any) -> None:
    # moto 5.2.5's RetrierDecl._eval_body step for step; only `time.sleep` became `wait`.
    from moto.stepfunctions.parser.asl.component.common.retry.max_attempts_decl import (
        MaxAttemptsOutcome,
    )
    from moto.stepfunctions.parser.asl.component.common.retry.retrier_outcome import (
        RetrierOutcome,
    )

    self.error_equals.eval(env)
    if not env.stack.pop():
        env.stack.append(RetrierOutcome.Skipped)
        return
    self.max_attempts.eval(env=env)
    if env.stack.pop() == MaxAttemptsOutcome.EXHAUSTED:
        env.stack.append(RetrierOutcome.Failed)
        return
    self.interval_seconds.eval(env=env)
    self.backoff_rate.eval(env=env)
    self.max_delay_seconds.eval(env=env)
    self.jitter_strategy.eval(env=env)
    wait(float(env.stack.pop()), lambda: not env.is_running(), env.program_state_event)
    env.stack.append(RetrierOutcome.Executed)
