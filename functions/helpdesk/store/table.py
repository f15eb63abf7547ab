"""The small storage interface the repository is written against.

Two implementations behave the same: `DynamoTable` (boto3) and `MemoryTable` (unit tests).
The contract test suite runs against both, so they cannot drift. Conditions are a tiny
language of our own (not DynamoDB expression strings) so the in-memory fake can honour them
exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

Item = dict[str, Any]


class ConditionFailed(Exception):
    """A conditional write found the item in another state than expected."""


class TransactionConflict(Exception):
    """A transaction was cancelled; `reasons` lists each operation's outcome."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__(", ".join(reasons))
        self.reasons = reasons


@dataclass(frozen=True)
class Condition:
    """`absent`: no item with the key. `exists`: an item with the key.
    `equals`: the item exists and each attribute equals the value."""

    absent: bool = False
    exists: bool = False
    equals: tuple[tuple[str, Any], ...] = ()

    @staticmethod
    def item_absent() -> Condition:
        return Condition(absent=True)

    @staticmethod
    def item_exists() -> Condition:
        return Condition(exists=True)

    @staticmethod
    def attrs_equal(**values: Any) -> Condition:
        return Condition(equals=tuple(values.items()))


@dataclass(frozen=True)
class Put:
    item: Item
    condition: Condition | None = None


@dataclass(frozen=True)
class Delete:
    pk: str
    sk: str
    condition: Condition | None = None


@dataclass(frozen=True)
class Check:
    pk: str
    sk: str
    condition: Condition


@dataclass(frozen=True)
class Add:
    """Add `amount` to a number attribute (created at 0) inside a transaction: counters that
    move with the change they count."""
    pk: str
    sk: str
    attribute: str
    amount: int


Operation = Put | Delete | Check | Add


@dataclass
class Page:
    items: list[Item]
    next_key: Item | None = None


@dataclass(frozen=True)
class KeyRange:
    """Sort-key restriction of a query: a prefix, or an inclusive range."""

    prefix: str | None = None
    low: str | None = None
    high: str | None = None


@dataclass
class QueryRequest:
    pk: str
    index: str | None = None
    sk: KeyRange = field(default_factory=KeyRange)
    newest_first: bool = False
    limit: int | None = None
    start_key: Item | None = None


class Table(Protocol):
    def get(self, pk: str, sk: str) -> Item | None: ...

    def put(self, item: Item, condition: Condition | None = None) -> None: ...

    def delete(self, pk: str, sk: str, condition: Condition | None = None) -> None: ...

    def transact(self, operations: Sequence[Operation]) -> None: ...

    def query(self, request: QueryRequest) -> Page: ...

    def update(self, pk: str, sk: str, values: Item, condition: Condition | None = None) -> None:
        """Set attributes of an item (created if absent, unless `condition` says otherwise);
        raises ConditionFailed when `condition` does not hold."""
        ...

    def write_many(self, puts: Sequence[Item], deletes: Sequence[tuple[str, str]] = ()) -> None:
        """Unconditional puts and deletes, not a transaction (BatchWriteItem: 25 a call, the
        unprocessed ones sent again): for idempotent writes such as index entries."""
        ...

    def get_many(self, keys: Sequence[tuple[str, str]]) -> list[Item]:
        """The items of `keys` that exist, in the order of `keys` (BatchGetItem: one call per
        100 keys, eventually consistent; a missing item is left out)."""
        ...

    def increment(self, pk: str, sk: str, attribute: str, amount: int = 1) -> int:
        """Atomically add to a number attribute (created at 0) and return the new value."""
        ...

    def increment_if(
        self, pk: str, sk: str, attribute: str, condition: Condition, amount: int = 1
    ) -> Item:
        """Add to an attribute of an item only if `condition` holds; return the new item.
        Raises ConditionFailed otherwise."""
        ...


def query_all(table: Table, request: QueryRequest) -> list[Item]:
    """Follow pagination to the end of the partition (or the request's limit)."""
    items: list[Item] = []
    start = request.start_key
    while True:
        page = table.query(
            QueryRequest(
                pk=request.pk,
                index=request.index,
                sk=request.sk,
                newest_first=request.newest_first,
                limit=None if request.limit is None else request.limit - len(items),
                start_key=start,
            )
        )
        items.extend(page.items)
        if page.next_key is None or (request.limit is not None and len(items) >= request.limit):
            return items
        start = page.next_key
