"""Where channel credentials live: Parameter Store on AWS (aws/ssm.py), memory in unit
tests. Values are opaque strings (the channels keep JSON there)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol


class SecretStore(Protocol):
    def put(self, name: str, value: str) -> None: ...

    def get(self, name: str) -> str | None: ...


class MemorySecrets:
    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self._lock = threading.Lock()

    def put(self, name: str, value: str) -> None:
        with self._lock:
            self.values[name] = value

    def get(self, name: str) -> str | None:
        with self._lock:
            return self.values.get(name)


class CachedSecrets:
    """Keeps what was read for `seconds`: every webhook needs its channel's secrets, and
    Parameter Store's throughput is limited (40 reads/s by default). A change made through
    the API reaches other warm containers within `seconds`."""

    def __init__(self, store: SecretStore, seconds: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._store = store
        self._seconds = seconds
        self._clock = clock
        self._cache: dict[str, tuple[float, str | None]] = {}
        self._lock = threading.Lock()

    def put(self, name: str, value: str) -> None:
        self._store.put(name, value)
        with self._lock:
            self._cache[name] = (self._clock(), value)

    def get(self, name: str) -> str | None:
        with self._lock:
            cached = self._cache.get(name)
        if cached is not None and self._clock() - cached[0] < self._seconds:
            return cached[1]
        value = self._store.get(name)
        with self._lock:
            self._cache[name] = (self._clock(), value)
        return value
