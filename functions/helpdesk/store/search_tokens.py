"""Search token entries: which documents (tickets, users, organizations) hold a token.

Keys only (see keys.token_entry). Writes are idempotent puts and deletes, so a replayed
stream record changes nothing. Entries are hints: a reader verifies each document itself, so
a token left behind by a lost delete only costs one read."""

from __future__ import annotations

from collections.abc import Iterable

from helpdesk.models import Organization, Ticket, User
from helpdesk.store import keys
from helpdesk.store.table import Item, KeyRange, QueryRequest, Table

ITEM_TYPE = "search_token"
PREFIX_READ_LIMIT = 200  # entries read for a prefix word: tokens ordered by token, then id


class SearchTokens:
    def __init__(self, table: Table) -> None:
        self._table = table

    def add(self, kind: str, document_id: int, tokens: Iterable[str]) -> None:
        entries = [keys.token_entry(kind, token, document_id) for token in sorted(set(tokens))]
        self._table.write_many([{"PK": pk, "SK": sk, "item_type": ITEM_TYPE}
                                for pk, sk in entries])

    def remove(self, kind: str, document_id: int, tokens: Iterable[str]) -> None:
        self._table.write_many([], [keys.token_entry(kind, token, document_id)
                                    for token in sorted(set(tokens))])

    def documents(self, kind: str, token: str, *, limit: int,
                  after: int | None = None) -> list[int]:
        """Ids of documents holding exactly `token`, highest id first; `after`: only ids below
        it (the next page)."""
        start: Item | None = None
        if after is not None:
            pk, sk = keys.token_entry(kind, token, after)
            start = {"PK": pk, "SK": sk}
        page = self._table.query(QueryRequest(
            pk=keys.token_partition(kind, token), sk=KeyRange(prefix=f"{token}#"),
            newest_first=True, limit=limit, start_key=start))
        return [_document_id(item) for item in page.items]

    def documents_with_prefix(self, kind: str, prefix: str,
                              limit: int = PREFIX_READ_LIMIT) -> list[int]:
        """Ids of documents holding a token that starts with `prefix`, highest id first, from
        at most `limit` entries (the first tokens in token order). A prefix shorter than the
        partition width is only looked up as a whole token."""
        if len(prefix) < keys.TOKEN_PARTITION_CHARS:
            return self.documents(kind, prefix, limit=limit)
        page = self._table.query(QueryRequest(
            pk=keys.token_partition(kind, prefix), sk=KeyRange(prefix=prefix), limit=limit))
        return sorted({_document_id(item) for item in page.items}, reverse=True)


def _document_id(item: Item) -> int:
    return int(str(item["SK"]).rsplit("#", 1)[1])


class SearchReads:
    """The documents a search verifies its candidates against, read in batches."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def tickets_with_texts(self, ticket_ids: list[int]) -> list[tuple[Ticket, str]]:
        """Existing tickets of `ticket_ids` (order kept) with their conversation text."""
        wanted = [key for ticket_id in ticket_ids
                  for key in (keys.ticket(ticket_id), keys.ticket_search(ticket_id))]
        found = {(item["PK"], item["SK"]): item for item in self._table.get_many(wanted)}
        answer = []
        for ticket_id in ticket_ids:
            item = found.get(keys.ticket(ticket_id))
            if item is None:
                continue
            ticket = Ticket.model_validate(item)
            search = found.get(keys.ticket_search(ticket_id))
            answer.append((ticket, ticket.search_text if search is None
                           else str(search.get("text", ""))))
        return answer

    def users(self, user_ids: list[int]) -> list[User]:
        items = self._table.get_many([keys.user(user_id) for user_id in user_ids])
        return [User.model_validate(item) for item in items]

    def organizations(self, organization_ids: list[int]) -> list[Organization]:
        items = self._table.get_many([keys.organization(org_id) for org_id in organization_ids])
        return [Organization.model_validate(item) for item in items]

    def tickets_of_requester(self, user_id: int, limit: int) -> list[int]:
        """Ids of a customer's latest updated tickets (at most `limit`)."""
        index, pk = keys.tickets_by_requester(user_id)
        page = self._table.query(QueryRequest(pk=pk, index=index, newest_first=True,
                                              limit=limit))
        return [int(item["id"]) for item in page.items]
