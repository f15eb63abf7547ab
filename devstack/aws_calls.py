"""Counts the DynamoDB operations the embedded AWS serves, whoever calls (handlers, the
Step Functions interpreter, the stream poller), so a test can prove no Scan ever ran."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

_counts: Counter[str] = Counter()
_lock = threading.Lock()
_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.call_action

    def counting_call_action(self: Any) -> Any:
        with _lock:
            _counts[self._get_action()] += 1
        return original(self)

    DynamoHandler.call_action = counting_call_action  # type: ignore[method-assign]
    _installed = True


def snapshot() -> dict[str, int]:
    with _lock:
        return dict(_counts)
