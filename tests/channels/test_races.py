"""Races that DynamoDB itself allows, forced to happen: every thread reads the contested item
before any of them writes (a barrier in the table's read), so the code under test must settle
them with its conditional writes, on both tables."""

from __future__ import annotations

import threading
from typing import Any

from helpdesk.channels.model import ChannelCreate
from helpdesk.channels.telephony import CallEvent, Telephony
from tests.conftest import ADMIN_EMAIL, ADMIN_KEY, make_helpdesk


class ReadersMeet:
    """A table whose first `parties` reads of items under `prefix` (one per thread) wait
    until all of them have read: they decide on the same, soon stale, state."""

    def __init__(self, table: Any, prefix: str, parties: int) -> None:
        self._table = table
        self._prefix = prefix
        self._barrier = threading.Barrier(parties, timeout=10)
        self._waiting = parties
        self._lock = threading.Lock()
        self._seen = threading.local()

    def get(self, pk: str, sk: str) -> Any:
        item = self._table.get(pk, sk)
        if pk.startswith(self._prefix) and not getattr(self._seen, "done", False):
            self._seen.done = True
            with self._lock:
                meet, self._waiting = self._waiting > 0, self._waiting - 1
            if meet:
                self._barrier.wait()
        return item

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)


def test_start_and_answer_of_one_call_at_once_keep_both_steps(table, clock):
    desk = make_helpdesk(table, clock)
    admin = desk.users.authenticate(ADMIN_EMAIL, ADMIN_KEY)
    _, secrets = desk.channels.create(admin, ChannelCreate.model_validate(
        {"type": "phone", "name": "PBX"}))
    key = secrets["channel_key"]
    desk.repository.table = ReadersMeet(table, "CALL#", parties=2)  # type: ignore[assignment]
    telephony = Telephony(desk)
    errors: list[Exception] = []

    def send(action: str) -> None:
        try:
            telephony.handle(key, CallEvent(action=action, call_id="c-race",
                                            phone="+79125550000", direction="in"))
        except Exception as problem:
            errors.append(problem)

    threads = [threading.Thread(target=send, args=(a,)) for a in ("start", "answer")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    outcome = telephony.handle(key, CallEvent(action="end", call_id="c-race",
                                              phone="+79125550000", direction="in",
                                              duration=42))
    (post,) = desk.tickets.messages(admin, outcome.ticket_id, "post")
    assert "0:42" in post.text and "not answered" not in post.text, post.text
