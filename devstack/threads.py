"""Threads that are reused: `ReusedThread` stands in for `threading.Thread` where the local
stack (its API gateway) or the embedded Step Functions start a short-lived thread per
request, execution or state. Starting and ending an OS thread each time costs CPU the
stack's one core needs for the messages; an idle worker takes the next target instead, and a
new worker starts only when none is idle (never a bound: a waiting state never blocks
another). Workers idle for IDLE_SECONDS end."""

from __future__ import annotations

import functools
import queue
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

IDLE_SECONDS = 30.0


class ReusedThread:
    """The part of `threading.Thread` its callers here use: start, join, is_alive."""

    _idle: ClassVar[list[_Worker]] = []
    _idle_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, target: Callable[..., Any], args: Iterable[Any] = (),
                 kwargs: Mapping[str, Any] | None = None, *, name: str | None = None,
                 daemon: bool | None = True) -> None:
        self._target: Callable[[], Any] | None = functools.partial(
            target, *args, **(kwargs or {}))
        self.name = name or "reused"
        self.daemon = True  # workers never keep the process alive, as moto's daemons
        self._done = threading.Event()
        self._started = False

    def start(self) -> None:
        if self._started:
            raise RuntimeError("threads can only be started once")
        self._started = True
        with self._idle_lock:
            worker = self._idle.pop() if self._idle else None
        (worker or _Worker()).jobs.put(self._run)

    def _run(self) -> None:
        target, self._target = self._target, None  # as Thread.run: no reference kept after
        try:
            if target is not None:
                target()
        finally:
            self._done.set()

    def join(self, timeout: float | None = None) -> None:
        self._done.wait(timeout)

    def is_alive(self) -> bool:
        return self._started and not self._done.is_set()


class _Worker:
    def __init__(self) -> None:
        self.jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        threading.Thread(target=self._serve, name="reused-worker", daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                job = self.jobs.get(timeout=IDLE_SECONDS)
            except queue.Empty:
                with ReusedThread._idle_lock:
                    if self in ReusedThread._idle:  # nobody took it meanwhile: end
                        ReusedThread._idle.remove(self)
                        return
                continue  # taken just now: its job is on the way
            try:
                job()
            except BaseException:  # as a thread's target would: reported, the worker lives
                sys.excepthook(*sys.exc_info())
            del job
            with ReusedThread._idle_lock:
                ReusedThread._idle.append(self)
