"""Where channel credentials live: Parameter Store on AWS (aws/ssm.py), memory in unit
tests. Values are opaque strings (the channels keep JSON there)."""

from __future__ import annotations

import threading
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
