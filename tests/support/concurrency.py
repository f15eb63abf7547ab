"""Really simultaneous calls: threads released together by a barrier."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from tests.support.timeouts import HANG_GUARD


def at_once(count: int, action: Callable[[int], Any]) -> list[Any]:
    """Runs `action(i)` for i in range(count) on `count` threads that all wait at a barrier and
    start together; returns their results in order (an exception in place of a result)."""
    barrier = threading.Barrier(count, timeout=HANG_GUARD)
    results: list[Any] = [None] * count

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = action(index)
        except Exception as problem:  # reported by the caller's assertions
            results[index] = problem

    threads = [threading.Thread(target=run, args=(i,), name=f"at-once-{i}")
               for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(HANG_GUARD)
    assert not [thread.name for thread in threads if thread.is_alive()], "a call hung"
    return results
