"""The local stack's controllable clock: real time plus an offset kept in a file, so the API,
the scheduler and every workflow step of `make run` see the same "now" and a test can move
it forward (POST /_local/clock) instead of waiting. Never set on AWS."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path


class OffsetClock:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._stamp: int | None = None
        self._offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset()

    def offset(self) -> timedelta:
        try:
            stamp = os.stat(self.path).st_mtime_ns
        except FileNotFoundError:
            return timedelta(0)
        if stamp != self._stamp:  # re-read only when the file changed
            seconds = json.loads(self.path.read_text() or "{}").get("offset_seconds", 0)
            self._offset, self._stamp = timedelta(seconds=float(seconds)), stamp
        return self._offset

    def set_offset(self, seconds: float) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"offset_seconds": seconds}))
        os.replace(temporary, self.path)  # readers see the old or the new file, never half
        # Two writes within the file system's timestamp resolution look alike: force a read.
        self._stamp = None
