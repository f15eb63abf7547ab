"""Dictionary entries (statuses, priorities, types, departments, groups), keyed in keys.py."""

from __future__ import annotations

from helpdesk.models import DictionaryEntry
from helpdesk.store import keys
from helpdesk.store.table import Condition, ConditionFailed, QueryRequest, Table, query_all


class DictionaryEntries:
    def __init__(self, table: Table) -> None:
        self._table = table

    def dictionary(self, kind: str) -> list[DictionaryEntry]:
        items = query_all(self._table, QueryRequest(pk=keys.dictionary_pk(kind)))
        return [DictionaryEntry.model_validate(item) for item in items]

    def dictionary_entry(self, kind: str, entry_id: int | str) -> DictionaryEntry | None:
        item = self._table.get(*keys.dictionary_entry(kind, entry_id))
        return DictionaryEntry.model_validate(item) if item else None

    def put_dictionary_entry(self, kind: str, entry: DictionaryEntry, *, only_new: bool) -> bool:
        pk, sk = keys.dictionary_entry(kind, entry.id)
        item = {"PK": pk, "SK": sk, "item_type": kind, **entry.model_dump(mode="json")}
        try:
            self._table.put(item, Condition.item_absent() if only_new else None)
        except ConditionFailed:
            return False
        return True
