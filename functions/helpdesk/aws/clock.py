"""The local stack's controllable clock: real time plus an offset kept in a file, so the API,
the scheduler and every workflow step of `make run` see the same "now" and a test can move
it forward (POST /_local/clock) instead of waiting. Never set on AWS."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar


class OffsetClock:
    # Moves made in this process reach every clock on the same file at once; a move made by
    # another process is seen within RECHECK_SECONDS (a stat of the file per call cost ~0.4 ms
    # on a slow file system, several times per message).
    RECHECK_SECONDS = 0.25
    _moves: ClassVar[dict[str, int]] = {}  # path -> moves made in this process

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._stamp: int | None = None
        self._offset = timedelta(0)
        self._seen_moves = -1
        self._checked_at = -RECHECK_NEVER

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset()

    def offset(self) -> timedelta:
        moves = OffsetClock._moves.get(str(self.path), 0)
        now = time.monotonic()
        moved_here = moves != self._seen_moves
        if not moved_here and now - self._checked_at < self.RECHECK_SECONDS:
            return self._offset
        self._seen_moves, self._checked_at = moves, now
        try:
            stamp = os.stat(self.path).st_mtime_ns
        except FileNotFoundError:
            self._stamp, self._offset = None, timedelta(0)
            return self._offset
        if stamp != self._stamp or moved_here:  # re-read only when the file changed
            seconds = json.loads(self.path.read_text() or "{}").get("offset_seconds", 0)
            self._offset, self._stamp = timedelta(seconds=float(seconds)), stamp
        return self._offset

    def set_offset(self, seconds: float) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"offset_seconds": seconds}))
        os.replace(temporary, self.path)  # readers see the old or the new file, never half
        # Two writes within the file system's timestamp resolution look alike: every clock of
        # this process reads the file again on its next call.
        key = str(self.path)
        OffsetClock._moves[key] = OffsetClock._moves.get(key, 0) + 1


RECHECK_NEVER = 1e9
