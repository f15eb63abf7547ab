"""The table's stream, emulated for in-process tests (no DynamoDB stream there).

`IndexingFeed` records every put and delete of a MemoryTable (old and new image, as a
NEW_AND_OLD_IMAGES stream delivers them) and `drain` runs the search indexer over them, as
the search_index function does from the real stream. It has no lag and delivers each change
once, in order: the real stream lags (tests/e2e poll for it) and may deliver twice (the
indexer test replays records)."""

from __future__ import annotations

from helpdesk.search.indexer import INDEXED_ITEM_TYPES, Indexer
from helpdesk.store.memory import MemoryTable
from helpdesk.store.search_tokens import SearchTokens
from helpdesk.store.ticket_records import TicketRecords


class IndexingFeed:
    def __init__(self, table: MemoryTable) -> None:
        self._table = table
        self._indexer = Indexer(SearchTokens(table), TicketRecords(table))
        table.record_changes()

    def drain(self) -> int:
        """Index every change recorded so far; the number of indexed item changes."""
        applied = 0
        for old, new in self._table.take_changes():
            image = new if new is not None else old
            if image is not None and image.get("item_type") in INDEXED_ITEM_TYPES:
                self._indexer.apply(old, new)
                applied += 1
        return applied
