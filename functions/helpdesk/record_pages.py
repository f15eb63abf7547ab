"""Pages of people and organizations read from their index partitions, in index order (by
name), never the whole index: page N reads the first N pages (+1 to know there is more) with
`Limit`; filters no index answers are applied to what is read, at most MAX_SCANNED records a
request (the page may then be short and `more` stays true: the total is a lower bound)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")
MAX_SCANNED = 1_000  # records a filtered request reads at most
FILTERED_CHUNK = 100  # records read per call while filtering

# Reads a partition from `start` (None: its beginning): (records, where to go on or None).
PartitionRead = Callable[[int, Any], tuple[list[T], Any]]


@dataclass
class RecordPage(Generic[T]):
    items: list[T]
    more: bool  # records follow this page (or the filtered read stopped at its bound)
    exact: bool = True  # False when a filter stopped at MAX_SCANNED: `more` is a guess


def read_page(partitions: Sequence[PartitionRead[T]], keep: Callable[[T], bool] | None,
              page: int, per_page: int) -> RecordPage[T]:
    need = page * per_page + 1
    matched: list[T] = []
    scanned = 0
    for read in partitions:
        start: Any = None
        while len(matched) < need:
            limit = need - len(matched) if keep is None else FILTERED_CHUNK
            records, start = read(limit, start)
            scanned += len(records)
            matched += records if keep is None else [r for r in records if keep(r)]
            if start is None:
                break
            if keep is not None and scanned >= MAX_SCANNED:
                shown = matched[(page - 1) * per_page:page * per_page]
                return RecordPage(shown, True, exact=False)
        if len(matched) >= need:
            break
    return RecordPage(matched[(page - 1) * per_page:page * per_page], len(matched) >= need)
