"""Ticket search bounds: newest first, at most MAX_EXAMINED candidates a call, a cursor that
continues below the last id examined, stale entries dropped by verification."""

from __future__ import annotations

from helpdesk.access import Viewer
from helpdesk.models import Organization, Role, Ticket, User, UserKind
from helpdesk.search import queries
from helpdesk.search.queries import MAX_EXAMINED, Search


class Postings:
    def __init__(self, ids: list[int]) -> None:
        self.ids = sorted(ids, reverse=True)
        self.reads = 0

    def documents(self, kind: str, token: str, *, limit: int,
                  after: int | None = None) -> list[int]:
        self.reads += 1
        if kind != "ticket" or token not in ("принтер", "принтеры"):
            return []
        return [i for i in self.ids if after is None or i < after][:limit]

    def documents_with_prefix(self, kind: str, prefix: str, limit: int = 200) -> list[int]:
        return []


class Documents:
    def __init__(self, matching: set[int]) -> None:
        self.matching = matching
        self.examined: list[int] = []

    def tickets_with_texts(self, ticket_ids: list[int]) -> list[tuple[Ticket, str]]:
        self.examined += ticket_ids
        return [(Ticket(id=i, unique_id=f"HD-{i}", title="t", department_id=1),
                 "принтер" if i in self.matching else "сканер") for i in ticket_ids]

    def users(self, user_ids: list[int]) -> list[User]:
        return []

    def organizations(self, organization_ids: list[int]) -> list[Organization]:
        return []

    def tickets_of_requester(self, user_id: int, limit: int) -> list[int]:
        return []


ADMIN = Viewer(User(id=1, kind=UserKind.STAFF, group_id=1, name="A"), Role.ADMIN)


def test_newest_first_pages_continue_below_the_cursor():
    documents = Documents(set(range(1, 301)))
    search = Search(Postings(list(range(1, 301))), documents)
    first = search.tickets(ADMIN, "принтеры ", limit=10)
    assert [t.id for t in first.items] == list(range(300, 290, -1)) and first.cursor == 291
    second = search.tickets(ADMIN, "принтеры ", limit=10, cursor=first.cursor)
    assert [t.id for t in second.items] == list(range(290, 280, -1))


def test_a_call_examines_a_bounded_number_of_candidates_and_says_where_to_go_on():
    # The index names 2,000 tickets, only the oldest matches (its other entries are stale).
    documents = Documents({1})
    search = Search(Postings(list(range(1, 2001))), documents)
    found = search.tickets(ADMIN, "принтер ", limit=10)
    assert found.items == [] and len(documents.examined) == MAX_EXAMINED
    assert found.cursor == 2000 - MAX_EXAMINED + 1
    cursor, calls = found.cursor, 1
    while cursor is not None and not found.items:
        found = search.tickets(ADMIN, "принтер ", limit=10, cursor=cursor)
        cursor, calls = found.cursor, calls + 1
    assert [t.id for t in found.items] == [1] and calls == 4 and found.cursor is None


def test_the_viewer_sees_only_his_departments():
    agent = Viewer(User(id=2, kind=UserKind.STAFF, group_id=2, name="B", department=[2]),
                   Role.AGENT)
    search = Search(Postings([1, 2, 3]), Documents({1, 2, 3}))
    assert search.tickets(agent, "принтер ", limit=10).items == []
    assert queries.CUSTOMERS_READ >= 1
