"""One store of "already done" markers (the idea of Powertools' idempotency, kept in our
table): a marker item says that a piece of work happened once (a rules run of an event, an
SLA escalation, a staff notice sent, a provider's delivery ingested, a periodic slot
claimed). Each kind names its item type and the key function in `keys.py` that places it;
the stored items are unchanged from when each feature wrote its own (same keys, same
`item_type`, the payload beside them).

Two ways to write one:
- as a `changes.Done` claim of a ticket change: the committer adds the conditional put
  (only if absent) to the change's transaction, so work and marker commit together or not
  at all;
- `mark(...)` writes it now and says whether it was new.

`AlreadyDone` is the one exception for "a parallel run did this first": raised inside a
ticket change when the marker shows up between the first look and the commit.

`TableMarkers` works on any `Table`: on `MemoryTable` it is the in-memory fake the unit
tests use, on `DynamoTable` the real thing; the contract suite runs it on both."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from helpdesk.store import keys
from helpdesk.store.table import Condition, ConditionFailed, Item, Put, Table

K = TypeVar("K")

MARKER_ATTRIBUTES = ("PK", "SK", "item_type")


class AlreadyDone(Exception):
    """The work this marker guards was done by another (parallel or earlier) run."""


@dataclass(frozen=True)
class MarkerKind(Generic[K]):
    """A kind of marker: its stored `item_type` and how `keys.py` places one of its keys."""

    item_type: str
    place: Callable[[K], tuple[str, str]]


# The kinds. Keys and their formats live in keys.py ("markers" there); never rebuild them.
RULES_RUN: MarkerKind[tuple[int, int]] = MarkerKind(
    "rules_run", lambda key: keys.rules_run(*key))  # (ticket id, event version)
SLA_ESCALATED: MarkerKind[tuple[int, str, int]] = MarkerKind(
    "sla_escalated", lambda key: keys.sla_escalated(*key))  # (ticket, "<target>.<stage>", v)
NOTIFICATION_SENT: MarkerKind[str] = MarkerKind(
    "notification_sent", keys.notification_sent)  # the notification's key
PERIODIC_SLOT: MarkerKind[str] = MarkerKind("periodic_slot", keys.periodic_slot)
CHANNEL_EVENT: MarkerKind[tuple[int, str]] = MarkerKind(
    "channel_event", lambda key: keys.channel_event(*key))  # (channel id, provider event id)
SES_MESSAGE: MarkerKind[str] = MarkerKind("ses_message", keys.ses_message)  # SES's mail id
AUTO_REPLY: MarkerKind[tuple[str, str]] = MarkerKind(
    "auto_reply", lambda key: keys.auto_reply(*key))  # (address, ISO day)


class Markers(Protocol):
    def get(self, kind: MarkerKind[K], key: K) -> dict[str, Any] | None:
        """The marker's payload (what was stored with it), or None if not done."""
        ...

    def seen(self, kind: MarkerKind[K], key: K) -> bool:
        """Is the work done?"""
        ...

    def mark(self, kind: MarkerKind[K], key: K, /, **payload: Any) -> bool:
        """Write the marker now: True if it is new, False if it was there already (the
        stored one is left as it was)."""
        ...


class TableMarkers:
    def __init__(self, table: Table) -> None:
        self._table = table

    def get(self, kind: MarkerKind[K], key: K) -> dict[str, Any] | None:
        item = self._table.get(*kind.place(key))
        if item is None:
            return None
        return {name: value for name, value in item.items() if name not in MARKER_ATTRIBUTES}

    def seen(self, kind: MarkerKind[K], key: K) -> bool:
        return self._table.get(*kind.place(key)) is not None

    def marker(self, kind: MarkerKind[K], key: K, /, **payload: Any) -> Put:
        """The marker as a put that only succeeds if it is new, for the transaction of the
        work it guards (the ticket committer's, for a `changes.Done` claim)."""
        return Put(_item(kind, key, payload), Condition.item_absent())

    def mark(self, kind: MarkerKind[K], key: K, /, **payload: Any) -> bool:
        try:
            self._table.put(_item(kind, key, payload), Condition.item_absent())
        except ConditionFailed:
            return False
        return True


def _item(kind: MarkerKind[K], key: K, payload: dict[str, Any]) -> Item:
    pk, sk = kind.place(key)
    return {"PK": pk, "SK": sk, "item_type": kind.item_type, **payload}
