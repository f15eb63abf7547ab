"""In-memory Table for fast unit tests; the contract suite holds it to DynamoDB's behaviour."""

from __future__ import annotations

import copy
import threading
from collections.abc import Sequence
from typing import Any

from helpdesk.store.keys import ALL_INDEXES
from helpdesk.store.table import (
    Add,
    Check,
    Condition,
    ConditionFailed,
    Delete,
    Item,
    KeyRange,
    Operation,
    Page,
    Put,
    QueryRequest,
    TransactionConflict,
)

Key = tuple[str, str]


def holds(condition: Condition | None, current: Item | None) -> bool:
    if condition is None:
        return True
    if condition.absent:
        return current is None
    if current is None:
        return False
    return all(current.get(name) == value for name, value in condition.equals)


def _in_range(value: str, key_range: KeyRange) -> bool:
    if key_range.prefix is not None and not value.startswith(key_range.prefix):
        return False
    if key_range.low is not None and value < key_range.low:
        return False
    return not (key_range.high is not None and value > key_range.high)


_PARTITION_ATTRS = ("PK", *(f"{index}PK" for index in ALL_INDEXES))


class MemoryTable:
    """Items by key, and each partition's keys (base table and every index) so that a Query
    costs O(partition), as on DynamoDB, not O(table): benches fill it with 100,000 tickets."""

    def __init__(self) -> None:
        self._items: dict[Key, Item] = {}
        self._partitions: dict[tuple[str, Any], set[Key]] = {}
        self._lock = threading.RLock()
        self._feed: list[tuple[Item | None, Item | None]] | None = None

    def record_changes(self) -> None:
        """Start a change feed (old image, new image) of puts and deletes, as a DynamoDB stream
        with NEW_AND_OLD_IMAGES gives; tests drain it with `take_changes` (no stream here)."""
        with self._lock:
            self._feed = []

    def take_changes(self) -> list[tuple[Item | None, Item | None]]:
        with self._lock:
            taken, self._feed = (self._feed or []), ([] if self._feed is not None else None)
            return taken

    def _record(self, old: Item | None, new: Item | None) -> None:
        if self._feed is not None and (old is not None or new is not None):
            self._feed.append((copy.deepcopy(old), copy.deepcopy(new)))

    def _set(self, key: Key, item: Item) -> None:
        self._record(self._items.get(key), item)
        self._drop(key, record=False)
        self._items[key] = item
        for attr in _PARTITION_ATTRS:
            if attr in item:
                self._partitions.setdefault((attr, item[attr]), set()).add(key)

    def _drop(self, key: Key, record: bool = True) -> None:
        old = self._items.pop(key, None)
        if old is None:
            return
        if record:
            self._record(old, None)
        for attr in _PARTITION_ATTRS:
            if attr in old:
                keys = self._partitions.get((attr, old[attr]))
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del self._partitions[(attr, old[attr])]

    def get(self, pk: str, sk: str) -> Item | None:
        with self._lock:
            item = self._items.get((pk, sk))
            return copy.deepcopy(item) if item is not None else None

    def put(self, item: Item, condition: Condition | None = None) -> None:
        with self._lock:
            key = (item["PK"], item["SK"])
            if not holds(condition, self._items.get(key)):
                raise ConditionFailed(f"condition failed for {key}")
            self._set(key, copy.deepcopy(item))

    def delete(self, pk: str, sk: str, condition: Condition | None = None) -> None:
        with self._lock:
            if not holds(condition, self._items.get((pk, sk))):
                raise ConditionFailed(f"condition failed for {(pk, sk)}")
            self._drop((pk, sk))

    def transact(self, operations: Sequence[Operation]) -> None:
        with self._lock:
            keys = [self._key(op) for op in operations]
            if len(set(keys)) != len(keys):
                raise ValueError("a transaction cannot touch the same item twice")
            reasons = [
                "None" if isinstance(op, Add) or holds(op.condition, self._items.get(key))
                else "ConditionalCheckFailed"
                for op, key in zip(operations, keys, strict=True)
            ]
            if any(reason != "None" for reason in reasons):
                raise TransactionConflict(reasons)
            for op, key in zip(operations, keys, strict=True):
                if isinstance(op, Put):
                    self._set(key, copy.deepcopy(op.item))
                elif isinstance(op, Delete):
                    self._drop(key)
                elif isinstance(op, Add):
                    item = self._items.get(key) or {"PK": key[0], "SK": key[1]}
                    self._set(key, {**item,
                                    op.attribute: item.get(op.attribute, 0) + op.amount})

    def update(self, pk: str, sk: str, values: Item, condition: Condition | None = None) -> None:
        with self._lock:
            current = self._items.get((pk, sk))
            if not holds(condition, current):
                raise ConditionFailed(f"condition failed for {(pk, sk)}")
            self._set((pk, sk), {**(current or {"PK": pk, "SK": sk}),
                                 **copy.deepcopy(values)})

    def write_many(self, puts: Sequence[Item], deletes: Sequence[tuple[str, str]] = ()) -> None:
        with self._lock:
            for item in puts:
                self._set((item["PK"], item["SK"]), copy.deepcopy(item))
            for key in deletes:
                self._drop(key)

    def get_many(self, keys: Sequence[tuple[str, str]]) -> list[Item]:
        with self._lock:
            return [copy.deepcopy(self._items[key]) for key in keys if key in self._items]

    def query(self, request: QueryRequest) -> Page:
        pk_attr, sk_attr = ("PK", "SK") if request.index is None else _index_attrs(request.index)
        with self._lock:
            matches = [
                item
                for item in (self._items[key]
                             for key in self._partitions.get((pk_attr, request.pk), ()))
                if sk_attr in item
                and _in_range(item[sk_attr], request.sk)
            ]
        matches.sort(key=lambda item: (item[sk_attr], item["PK"], item["SK"]),
                     reverse=request.newest_first)
        if request.start_key is not None:
            position = _position_after(matches, request.start_key, sk_attr, request.newest_first)
            matches = matches[position:]
        if request.limit is not None and len(matches) > request.limit:
            page = matches[: request.limit]
            return Page([copy.deepcopy(i) for i in page], _key_of(page[-1], request.index))
        return Page([copy.deepcopy(i) for i in matches], None)

    def increment(self, pk: str, sk: str, attribute: str, amount: int = 1) -> int:
        with self._lock:
            item = self._items.get((pk, sk)) or {"PK": pk, "SK": sk}
            self._set((pk, sk), {**item, attribute: item.get(attribute, 0) + amount})
            return int(self._items[(pk, sk)][attribute])

    def increment_if(
        self, pk: str, sk: str, attribute: str, condition: Condition, amount: int = 1
    ) -> Item:
        with self._lock:
            current = self._items.get((pk, sk))
            if not holds(condition, current):
                raise ConditionFailed(f"condition failed for {(pk, sk)}")
            item = current or {"PK": pk, "SK": sk}
            self._set((pk, sk), {**item, attribute: item.get(attribute, 0) + amount})
            return copy.deepcopy(self._items[(pk, sk)])

    @staticmethod
    def _key(op: Operation) -> Key:
        if isinstance(op, Put):
            return op.item["PK"], op.item["SK"]
        assert isinstance(op, Delete | Check | Add)
        return op.pk, op.sk


def _index_attrs(index: str) -> tuple[str, str]:
    if index not in ALL_INDEXES:
        raise ValueError(f"unknown index {index}")
    return f"{index}PK", f"{index}SK"


def _key_of(item: Item, index: str | None) -> dict[str, Any]:
    key = {"PK": item["PK"], "SK": item["SK"]}
    if index is not None:
        pk_attr, sk_attr = _index_attrs(index)
        key |= {pk_attr: item[pk_attr], sk_attr: item[sk_attr]}
    return key


def _position_after(
    items: list[Item], start_key: Item, sk_attr: str, descending: bool
) -> int:
    for position, item in enumerate(items):
        if item["PK"] == start_key["PK"] and item["SK"] == start_key["SK"]:
            return position + 1
    # The start item changed or vanished: continue after its sort key, as DynamoDB does.
    marker = (start_key[sk_attr], start_key["PK"], start_key["SK"])
    for position, item in enumerate(items):
        order = (item[sk_attr], item["PK"], item["SK"])
        if (order < marker) if descending else (order > marker):
            return position
    return len(items)
