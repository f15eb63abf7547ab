"""Searches over the token index: cost O(result page) + O(words in the query).

A query is an AND of its words (see tokens.query_words: stems, the last word also a prefix).
Tickets:
- the driver is the most selective-looking word: the one with the longest stem, or the prefix
  when it is the only word; its entries (of its stem and of the word as written, merged) are
  read newest (highest id) first, in pages;
- each candidate is verified against ALL words by reading the ticket and its conversation
  text (one BatchGetItem per page): the documents are the truth, stale entries drop out;
- tickets of customers whose own record matches the words join the candidates (a renamed
  customer's tickets are found by the new name without re-indexing them): at most
  CUSTOMERS_READ customers, CUSTOMER_TICKETS_READ of each one's latest tickets;
- a query that is a number also finds the ticket with that id;
- the viewer's visibility applies; trashed tickets are not searched;
- a call stops at `limit` results or after MAX_EXAMINED candidates; the cursor it returns
  (the last id examined) continues below it.
Users and organizations: the same, over their own token entries.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from helpdesk.access import Viewer
from helpdesk.models import Organization, Ticket, User
from helpdesk.search.documents import (
    ORG,
    TICKET,
    USER,
    organization_tokens,
    ticket_tokens,
    user_tokens,
)
from helpdesk.search.tokens import Query, query_words

T = TypeVar("T")

MAX_EXAMINED = 500  # candidates verified per call at most
SEARCH_RESULTS = 200  # results of a list call that searches (the API pages through them)
POSTINGS_PAGE = 100  # token entries read per query
CUSTOMERS_READ = 5
CUSTOMER_TICKETS_READ = 50


class TokenPostings(Protocol):
    def documents(self, kind: str, token: str, *, limit: int,
                  after: int | None = None) -> list[int]: ...

    def documents_with_prefix(self, kind: str, prefix: str, limit: int = ...) -> list[int]: ...


class SearchDocuments(Protocol):
    def tickets_with_texts(self, ticket_ids: list[int]) -> list[tuple[Ticket, str]]: ...

    def users(self, user_ids: list[int]) -> list[User]: ...

    def organizations(self, organization_ids: list[int]) -> list[Organization]: ...

    def tickets_of_requester(self, user_id: int, limit: int) -> list[int]: ...


@dataclass
class Found(Generic[T]):
    items: list[T]
    cursor: int | None  # continue below this id; None: nothing more


def matches(query: Query, tokens: set[str]) -> bool:
    if any(tokens.isdisjoint(word) for word in query.exact):
        return False
    return query.prefix is None or any(token.startswith(query.prefix) for token in tokens)


def _matches_jointly(query: Query, own: set[str], other: set[str]) -> bool:
    """Every word is in the ticket's own tokens or in its customer's."""
    both = own | other
    return matches(query, both)


def _candidates(postings: TokenPostings, kind: str, query: Query,
                cursor: int | None) -> Iterable[int]:
    """Ids holding the driver word, highest first, below `cursor`."""
    if query.exact:
        driver = max(query.exact, key=lambda word: len(word[0]))
        streams = [_postings_of(postings, kind, token, cursor) for token in driver]
        yield from heapq.merge(*streams, reverse=True)
    elif query.prefix:
        yield from (document_id for document_id in postings.documents_with_prefix(kind,
                                                                                 query.prefix)
                    if cursor is None or document_id < cursor)


class SearchStores(Protocol):
    @property
    def search_tokens(self) -> TokenPostings: ...

    @property
    def search_reads(self) -> SearchDocuments: ...


def _postings_of(postings: TokenPostings, kind: str, token: str,
                 cursor: int | None) -> Iterator[int]:
    after = cursor
    while True:
        ids = postings.documents(kind, token, limit=POSTINGS_PAGE, after=after)
        yield from ids
        if len(ids) < POSTINGS_PAGE:
            return
        after = ids[-1]


class Search:
    def __init__(self, postings: TokenPostings, documents: SearchDocuments) -> None:
        self._postings = postings
        self._documents = documents

    @classmethod
    def on(cls, stores: SearchStores) -> Search:
        return cls(stores.search_tokens, stores.search_reads)

    # --- tickets ---------------------------------------------------------------------------
    def tickets(self, viewer: Viewer, text: str, limit: int,
                cursor: int | None = None) -> Found[Ticket]:
        query = query_words(text)
        if query.empty or limit <= 0:
            return Found([], None)
        customers = {user.id: user_tokens(user.model_dump(mode="json"))
                     for user in self.users(text, CUSTOMERS_READ).items}
        extra: set[int] = set()
        for user_id in customers:
            extra.update(self._documents.tickets_of_requester(user_id, CUSTOMER_TICKETS_READ))
        number = text.strip()
        if number.isdigit():
            extra.add(int(number))
        if cursor is not None:
            extra = {ticket_id for ticket_id in extra if ticket_id < cursor}

        def verify(batch: list[int]) -> list[Ticket]:
            found = []
            for ticket, conversation in self._documents.tickets_with_texts(batch):
                if ticket.trashed or not viewer.can_see(ticket):
                    continue
                own = ticket_tokens(ticket.model_dump(mode="json"), conversation)
                customer = customers.get(ticket.user_id or 0, set())
                if (str(ticket.id) == number or _matches_jointly(query, own, customer)):
                    found.append(ticket)
            return found

        return _collect(_candidates(self._postings, TICKET, query, cursor), extra, verify,
                        limit, lambda ticket: ticket.id)

    # --- people ----------------------------------------------------------------------------
    def users(self, text: str, limit: int, cursor: int | None = None,
              accept: Callable[[User], bool] = lambda user: True) -> Found[User]:
        query = query_words(text)
        if query.empty or limit <= 0:
            return Found([], None)

        def verify(batch: list[int]) -> list[User]:
            return [user for user in self._documents.users(batch)
                    if accept(user) and matches(query, user_tokens(user.model_dump(mode="json")))]

        return _collect(_candidates(self._postings, USER, query, cursor), set(), verify, limit,
                        lambda user: user.id)

    def organizations(self, text: str, limit: int,
                      cursor: int | None = None) -> Found[Organization]:
        query = query_words(text)
        if query.empty or limit <= 0:
            return Found([], None)

        def verify(batch: list[int]) -> list[Organization]:
            return [org for org in self._documents.organizations(batch)
                    if matches(query, organization_tokens(_dump(org)))]

        return _collect(_candidates(self._postings, ORG, query, cursor), set(), verify, limit,
                        lambda org: org.id)


def _dump(model: Organization) -> Mapping[str, Any]:
    return model.model_dump(mode="json")


def _collect(candidates: Iterable[int], extra: set[int],
                verify: Callable[[list[int]], list[T]], limit: int,
                id_of: Callable[[T], int]) -> Found[T]:
    """Verify candidates (index order merged with `extra`, highest id first) in batches until
    `limit` results or MAX_EXAMINED candidates."""
    found: list[T] = []
    examined = 0
    seen: set[int] = set()
    pending = sorted(extra, reverse=True)
    stream = iter(candidates)
    exhausted = False
    last: int | None = None
    while len(found) < limit and examined < MAX_EXAMINED:
        batch: list[int] = []
        while len(batch) < min(50, MAX_EXAMINED - examined) and not exhausted:
            candidate = next(stream, None)
            if candidate is None:
                exhausted = True
                break
            if candidate not in seen:
                seen.add(candidate)
                batch.append(candidate)
        floor = min(batch) if batch and not exhausted else None
        # extra ids above the index's floor belong in this batch (id order kept)
        while pending and (floor is None or pending[0] > floor):
            candidate = pending.pop(0)
            if candidate not in seen:
                seen.add(candidate)
                batch.append(candidate)
        if not batch:
            return Found(found, None)
        batch.sort(reverse=True)
        examined += len(batch)
        for item in verify(batch):
            if len(found) < limit:
                found.append(item)
        last = id_of(found[-1]) if len(found) >= limit else batch[-1]
    if not exhausted and len(found) < limit:  # stopped at the bound: is anything left?
        exhausted = next((c for c in stream if c not in seen), None) is None
    more = not (exhausted and not pending) or len(found) >= limit
    return Found(found, last if more else None)
