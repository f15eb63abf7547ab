"""The local stack's movable clock: a move is seen by every clock on the file."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta

from helpdesk.aws.clock import OffsetClock


def test_a_move_in_this_process_is_seen_at_once_by_every_clock_on_the_file(tmp_path):
    path = tmp_path / "clock.json"
    reader, mover = OffsetClock(path), OffsetClock(path)
    assert abs(reader() - datetime.now(UTC)) < timedelta(seconds=5)
    mover.set_offset(86400)
    assert reader() - datetime.now(UTC) > timedelta(hours=23)
    mover.set_offset(0)  # twice within one file-system tick: still seen
    assert abs(reader() - datetime.now(UTC)) < timedelta(seconds=5)


def test_a_move_by_another_process_is_seen_at_once(tmp_path):
    path = tmp_path / "clock.json"
    reader = OffsetClock(path)
    assert abs(reader() - datetime.now(UTC)) < timedelta(seconds=5)
    path.write_text(json.dumps({"offset_seconds": 3600}))  # as another process would
    os.utime(path, ns=(1, 1))  # a stamp of its own, whatever the file system's resolution
    assert reader() - datetime.now(UTC) > timedelta(minutes=59)


def test_no_file_means_real_time(tmp_path):
    assert abs(OffsetClock(tmp_path / "none.json")() - datetime.now(UTC)) < timedelta(seconds=5)
