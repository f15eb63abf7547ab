"""The local stand-in for EventBridge schedules.

moto stores scheduled rules but never fires them, so locally this loop calls the scheduled
functions at their rates instead. Time comes from an injectable clock and `tick()` runs
whatever is due, so tests drive it without waiting.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    every_seconds: float
    call: Callable[[], object]


@dataclass
class JobStats:
    runs: int = 0
    failures: int = 0
    last_error: BaseException | None = None


class Scheduler:
    """Runs each job every `every_seconds`, the first time one period after construction.

    Jobs run one after another on one daemon thread, so a job never overlaps itself (as with
    a Lambda of reserved concurrency 1); runs missed while a job was slow are skipped, not
    caught up, as EventBridge does.
    """

    def __init__(self, jobs: Sequence[Job], clock: Callable[[], float] = time.monotonic,
                 *, max_sleep: float = 1.0) -> None:
        names = [job.name for job in jobs]
        if len(set(names)) != len(names):
            raise ValueError(f"job names must be unique: {names}")
        for job in jobs:
            if not job.every_seconds > 0:
                raise ValueError(f"{job.name}: every_seconds must be positive")
        self.jobs = list(jobs)
        self.stats = {job.name: JobStats() for job in self.jobs}
        self._clock = clock
        self._max_sleep = max_sleep  # bounds the damage if a fake clock and real waits mix
        start = clock()
        self._due = {job.name: start + job.every_seconds for job in self.jobs}
        self._lock = threading.Lock()  # tick() may be called by a test while the loop runs
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> list[str]:
        """Run every job that is due now; return their names in the order they ran."""
        with self._lock:
            ran = []
            now = self._clock()
            for job in sorted(self.jobs, key=lambda job: self._due[job.name]):
                due = self._due[job.name]
                if now < due:
                    continue
                self._run(job)
                ran.append(job.name)
                # Keep the phase; skip periods that already passed.
                missed = int((now - due) // job.every_seconds)
                self._due[job.name] = due + (missed + 1) * job.every_seconds
            return ran

    def next_due_in(self) -> float:
        """Seconds until the earliest job is due (0 if one is overdue)."""
        if not self.jobs:
            return float("inf")
        return max(0.0, min(self._due.values()) - self._clock())

    def start(self) -> Scheduler:
        if self._thread is not None:
            raise RuntimeError("scheduler already started")
        self._stopping.clear()
        self._thread = threading.Thread(target=self._loop, name="local-scheduler", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Return as soon as the loop has noticed (at once unless a job is mid-run)."""
        self._stopping.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def __enter__(self) -> Scheduler:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _loop(self) -> None:
        # Event.wait, not sleep: stop() wakes the loop at once.
        while not self._stopping.wait(min(self.next_due_in(), self._max_sleep)):
            self.tick()

    def _run(self, job: Job) -> None:
        stats = self.stats[job.name]
        stats.runs += 1
        try:
            job.call()
        except Exception as error:
            # One failing job must not stop the loop or the other jobs.
            stats.failures += 1
            stats.last_error = error
            logger.exception("scheduled job %s failed", job.name)


def scheduled_event(rule_arn: str, now: datetime) -> dict[str, Any]:
    """The event EventBridge sends a target of a scheduled rule. A naive `now` is UTC."""
    parts = rule_arn.split(":")
    if len(parts) < 6 or parts[0] != "arn" or parts[2] != "events":
        raise ValueError(f"not an EventBridge rule ARN: {rule_arn!r}")
    moment = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": parts[4],
        "time": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": parts[3],
        "resources": [rule_arn],
        "detail": {},
    }
