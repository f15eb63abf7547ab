"""A versioned collection: the few records an administrator manages through the API (channels,
webhook subscriptions, automation rules, templates, SLA calendars and policies), each one
item, listed whole (tens of items: one partition or one index partition), written only if
nobody changed it since it was read (optimistic locking on `version`).

The store knows no feature: a `RecordKind` names the model, the item type and the key
functions (all in keys.py); the kinds themselves live with the domain (helpdesk/records.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from helpdesk.errors import Conflict
from helpdesk.store.table import Condition, ConditionFailed, QueryRequest, Table, query_all


class StaleVersion(Conflict):
    """Someone else changed the item since we read it: reload and apply the change again
    (what a retry loop does), or answer 409 (what it is when it reaches the API)."""


class StoredRecord(Protocol):
    """What a record kept in a collection is: a pydantic model with an id."""

    @property
    def id(self) -> int: ...

    def model_dump(self, *, mode: str = ..., by_alias: bool | None = ...) -> dict[str, Any]: ...


R = TypeVar("R", bound=StoredRecord)


@dataclass(frozen=True)
class RecordKind(Generic[R]):
    item_type: str
    what: str  # how a conflict names it: "SLA policy 3 changed meanwhile"
    parse: Callable[[dict[str, Any]], R]  # the model's model_validate
    key: Callable[[int], tuple[str, str]]
    listing: Callable[[], tuple[str | None, str]]  # (index or None for the table, partition)
    index_keys: Callable[[int], dict[str, str]] | None = None
    by_alias: bool = False  # dump with the field aliases (what the API calls them)


class VersionedCollection(Generic[R]):
    def __init__(self, table: Table, kind: RecordKind[R]) -> None:
        self._table = table
        self._kind = kind

    def get(self, record_id: int) -> R | None:
        item = self._table.get(*self._kind.key(record_id))
        return self._kind.parse(item) if item else None

    def all(self) -> list[R]:
        index, pk = self._kind.listing()
        return [self._kind.parse(item)
                for item in query_all(self._table, QueryRequest(pk=pk, index=index))]

    def save(self, record: R, previous_version: int | None) -> None:
        """Creates the record (`previous_version` None: only if absent) or replaces the
        version read; raises StaleVersion when the item changed meanwhile."""
        kind = self._kind
        pk, sk = kind.key(record.id)
        condition = (Condition.item_absent() if previous_version is None
                     else Condition.attrs_equal(version=previous_version))
        item = {"PK": pk, "SK": sk, "item_type": kind.item_type,
                **record.model_dump(mode="json", by_alias=kind.by_alias),
                **(kind.index_keys(record.id) if kind.index_keys else {})}
        try:
            self._table.put(item, condition)
        except ConditionFailed as failed:
            raise StaleVersion(f"{kind.what} {record.id} changed meanwhile; read it again"
                               ) from failed

    def erase(self, record_id: int) -> None:
        self._table.delete(*self._kind.key(record_id))
