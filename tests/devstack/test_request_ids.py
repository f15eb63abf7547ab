"""Request ids drawn without a system call: still UUID4s, still unique."""

from __future__ import annotations

import threading
import uuid

from devstack import request_ids


def test_ids_are_distinct_version_4_uuids_across_threads():
    found: list[str] = []
    lock = threading.Lock()

    def draw() -> None:
        mine = [request_ids.request_id() for _ in range(5_000)]
        with lock:
            found.extend(mine)

    threads = [threading.Thread(target=draw) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(found)) == 20_000
    assert all(uuid.UUID(one).version == 4 for one in found[:100])
