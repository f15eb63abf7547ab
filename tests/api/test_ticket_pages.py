"""GET /tickets/ reads only the page it returns (issue "Reads that scale"): what an
integrator notices — pages that continue where the last one stopped, counts from the queues,
an agent's view limited to his departments — and what a page costs, counted at the table."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from helpdesk.inputs import TicketCreate
from helpdesk.store.memory import MemoryTable
from helpdesk.store.table import Item, QueryRequest
from tests.api.conftest import ApiClient
from tests.api.test_access_control import _agent, _department
from tests.conftest import ADMIN_EMAIL, ADMIN_KEY, Clock, make_helpdesk


class CountingTable(MemoryTable):
    """The in-memory table, counting what list reads return: query items and batch keys."""

    def __init__(self) -> None:
        super().__init__()
        self.queried: list[int] = []
        self.batched: list[int] = []

    def query(self, request: QueryRequest):  # type: ignore[no-untyped-def]
        page = super().query(request)
        self.queried.append(len(page.items))
        return page

    def get_many(self, keys: Sequence[tuple[str, str]]) -> list[Item]:
        self.batched.append(len(keys))
        return super().get_many(keys)

    def reset(self) -> None:
        self.queried, self.batched = [], []


def _use(helpdesk: Any) -> ApiClient:
    from api import deps

    deps.helpdesk.use(helpdesk)
    return ApiClient()


def _fill(helpdesk: Any, count: int, **fields: Any) -> list[int]:
    admin = helpdesk.users.authenticate(ADMIN_EMAIL, ADMIN_KEY)
    return [helpdesk.tickets.create(admin, TicketCreate(title=f"t{n}", user_email="c@x.io",
                                                        **fields)).id
            for n in range(count)]


def _ids(answer: Any) -> list[int]:
    assert answer.status == 200, answer.body
    return [int(key) for key in answer.body["data"]]


def _walk(api: ApiClient, query: str, between: Any = None) -> list[int]:
    seen: list[int] = []
    cursor = None
    while True:
        answer = api.call("GET", f"/tickets/?{query}" + (f"&cursor={cursor}" if cursor else ""))
        seen += _ids(answer)
        cursor = answer.body["pagination"]["next_cursor"]
        if cursor is None:
            return seen
        if between is not None:
            between()


@pytest.mark.parametrize("tickets", [50, 500])
def test_page_one_reads_per_page_keys_and_tickets_whatever_the_number_of_tickets(tickets):
    table = CountingTable()
    helpdesk = make_helpdesk(table, Clock())
    _fill(helpdesk, tickets)
    api = _use(helpdesk)
    api.call("GET", "/tickets/?per_page=20")  # warms what authentication caches
    table.reset()
    answer = api.call("GET", "/tickets/?per_page=20")
    assert len(_ids(answer)) == 20 and answer.body["pagination"]["total"] == tickets
    assert "total_is_exact" not in answer.body["pagination"]
    assert table.queried == [21]  # one query: the page's keys and one to know there is more
    assert table.batched == [1, 20]  # the queue's counter, then the page's tickets
    table.reset()
    page_two = api.call("GET", "/tickets/?per_page=20&page=2")  # keys of pages 1-2, one query
    assert len(_ids(page_two)) == 20
    assert (table.queried, table.batched) == ([41], [1, 20])


def test_the_cursor_continues_without_repeats_or_gaps_while_tickets_change(helpdesk):
    created = _fill(helpdesk, 12)
    api = _use(helpdesk)
    changed = iter(created)

    def touch() -> None:  # someone works on tickets between two pages
        api.call("PUT", f"/tickets/{next(changed)}", {"status_id": "pending"})

    by_creation = _walk(api, "per_page=5&sort=created", touch)
    assert by_creation == created[::-1]
    # By last update, a ticket updated after it was shown moves to the top: not shown again;
    # the others keep their places and are all shown.
    shown: list[int] = []
    cursor = None
    while True:
        answer = api.call("GET", "/tickets/?per_page=5" + (f"&cursor={cursor}" if cursor else ""))
        shown += _ids(answer)
        cursor = answer.body["pagination"]["next_cursor"]
        if cursor is None:
            break
        api.call("PUT", f"/tickets/{shown[-1]}", {"priority_id": 3})
    assert sorted(shown) == sorted(created)


def test_page_n_is_the_same_as_walking_the_cursor(helpdesk):
    ids = _fill(helpdesk, 23)
    api = _use(helpdesk)
    for ticket in ids[::2]:
        api.call("PUT", f"/tickets/{ticket}", {"priority_id": 3})
    for query in ("per_page=4", "per_page=4&sort=created&order=asc", "per_page=4&status_id=open",
                  "per_page=4&priority_id=3"):
        walked = _walk(api, query)
        paged = [_ids(api.call("GET", f"/tickets/?{query}&page={n}")) for n in range(1, 7)]
        assert walked == [ticket for page in paged for ticket in page], query


def test_an_agent_sees_only_his_departments_tickets_and_counts(helpdesk):
    api = _use(helpdesk)
    sales = _department(api, "Sales")
    ours = _fill(helpdesk, 3)
    _fill(helpdesk, 4, department_id=sales)
    agent, as_agent = _agent(api, "bo@x.io", [1])
    listed = as_agent.call("GET", "/tickets/?per_page=2")
    assert listed.body["pagination"]["total"] == 3
    assert sorted(_walk(as_agent, "per_page=2")) == sorted(ours)
    assert _ids(as_agent.call("GET", f"/tickets/?department_id={sales}")) == []
    assert as_agent.call("GET", f"/tickets/?department_id={sales}").body[
        "pagination"]["total"] == 0
    queues = {q["queue"]: q["count"]
              for q in as_agent.call("GET", "/tickets/queues/").body["data"]}
    assert queues["all"] == 3 and queues["open"] == 3 and queues["unassigned"] == 3
    assert {q["queue"]: q["count"] for q in api.call("GET", "/tickets/queues").body[
        "data"]}["all"] == 7
    api.call("PUT", f"/tickets/{ours[0]}", {"owner_id": agent["id"]})
    mine = as_agent.call("GET", "/tickets/?queue=mine")
    assert _ids(mine) == [ours[0]] and mine.body["pagination"]["total"] == 1


def test_filters_the_queue_does_not_answer_make_the_total_an_upper_bound(helpdesk):
    ids = _fill(helpdesk, 6)
    api = _use(helpdesk)
    for ticket in ids[:2]:
        api.call("PUT", f"/tickets/{ticket}", {"priority_id": 4})
    answer = api.call("GET", "/tickets/?priority_id=4")
    assert sorted(_ids(answer)) == sorted(ids[:2])
    assert answer.body["pagination"]["total"] == 6
    assert answer.body["pagination"]["total_is_exact"] is False


def test_a_priority_filter_reads_only_that_prioritys_tickets_newest_first():
    """A priority is a key range of the priority index (ordered by update within it): the
    page costs its own keys, not a walk through every open ticket."""
    table = CountingTable()
    helpdesk = make_helpdesk(table, Clock())
    urgent = _fill(helpdesk, 3, priority_id=4)
    _fill(helpdesk, 60, priority_id=1)
    api = _use(helpdesk)
    api.call("GET", "/tickets/?status_id=open&priority_id=4")  # warms authentication caches
    table.reset()
    answer = api.call("GET", "/tickets/?status_id=open&priority_id=4&per_page=2")
    assert _ids(answer) == urgent[::-1][:2]
    assert table.queried == [3] and table.batched == [1, 2]
    assert _walk(api, "status_id=open&priority_id=4&per_page=2") == urgent[::-1]


@pytest.mark.parametrize(("query", "field"), [
    ("cursor=not-a-cursor", "cursor"),
    ("page=101&per_page=100", "page"),
    ("queue=nowhere", "queue"),
    ("sort=random", "sort"),
])
def test_a_bad_page_cursor_or_queue_is_a_400_naming_it(helpdesk, query, field):
    api = _use(helpdesk)
    answer = api.call("GET", f"/tickets/?{query}")
    assert answer.status == 400, answer.body
    assert answer.body["errors"][0]["source"]["field"] == field


def test_a_cursor_is_for_the_list_it_came_from(helpdesk):
    _fill(helpdesk, 5)
    api = _use(helpdesk)
    cursor = api.call("GET", "/tickets/?per_page=2").body["pagination"]["next_cursor"]
    assert cursor
    for query in (f"status_id=pending&cursor={cursor}", f"sort=created&cursor={cursor}",
                  f"cursor={cursor[:-2]}{'AA' if cursor[-2:] != 'AA' else 'BB'}"):
        answer = api.call("GET", f"/tickets/?per_page=2&{query}")
        assert answer.status == 400, (query, answer.body)
        assert answer.body["errors"][0]["source"]["field"] == "cursor"
    assert api.call("GET", f"/tickets/?per_page=2&cursor={cursor}").status == 200


def test_a_long_conversation_returns_a_page_of_posts_and_of_audit():
    from helpdesk.inputs import MessageCreate

    table = CountingTable()
    helpdesk = make_helpdesk(table, Clock())
    (ticket,) = _fill(helpdesk, 1)
    admin = helpdesk.users.authenticate(ADMIN_EMAIL, ADMIN_KEY)
    for number in range(150):
        helpdesk.tickets.add_message(admin, ticket, "post", MessageCreate(text=f"p{number}"))
    api = _use(helpdesk)
    api.call("GET", f"/tickets/{ticket}")
    table.reset()
    answer = api.call("GET", f"/tickets/{ticket}/posts?per_page=10&page=2")
    assert [post["text"] for post in answer.body["data"]] == [f"p{n}" for n in range(10, 20)]
    assert answer.body["pagination"]["total_is_exact"] is False
    assert table.queried == [21]  # pages 1-2 and one more: not the 150 posts
    last = api.call("GET", f"/tickets/{ticket}/posts?per_page=100&page=2").body["pagination"]
    assert last["total"] == 150 and "total_is_exact" not in last
    table.reset()
    audit = api.call("GET", f"/tickets/{ticket}/audit?per_page=5")
    assert audit.status == 200 and audit.body["data"][0]["action"] == "created"
    assert table.queried == [6] and audit.body["pagination"]["total_is_exact"] is False


def test_mentioned_followed_and_sla_queues(helpdesk):
    api = _use(helpdesk)
    agent, as_agent = _agent(api, "bo@x.io", [1])
    first, second, third = _fill(helpdesk, 3)
    api.call("POST", f"/tickets/{first}/comments", {"text": "@bo can you look?"})
    api.call("PUT", f"/tickets/{second}", {"followers": [agent["id"]]})
    assert _ids(as_agent.call("GET", "/tickets/?queue=mentioned")) == [first]
    assert _ids(as_agent.call("GET", "/tickets/?queue=followed")) == [second]
    counts = {q["queue"]: q["count"] for q in as_agent.call("GET", "/tickets/queues").body[
        "data"]}
    assert (counts["mentioned"], counts["followed"], counts["spam"]) == (1, 1, 0)
    assert helpdesk.tickets.get(helpdesk.users.authenticate(ADMIN_EMAIL, ADMIN_KEY),
                                first).mentioned == [agent["id"]]
    # No SLA policy: no clock runs, no ticket is in an SLA queue or the due order.
    assert _ids(api.call("GET", "/tickets/?queue=sla:green")) == []
    assert _ids(api.call("GET", "/tickets/?sort=sla_due")) == []
    assert sorted(_ids(api.call("GET", "/tickets/?sort=priority"))) == sorted(
        [first, second, third])


def test_running_sla_clocks_make_the_green_queue_and_the_due_order(helpdesk):
    api = _use(helpdesk)
    for name, priorities, minutes in (("Low", [1, 2], 60), ("Critical", [4], 15)):
        made = api.call("POST", "/sla_policies", {"name": name, "priority_ids": priorities,
                                                  "first_reply_minutes": minutes,
                                                  "resolution_minutes": minutes * 2})
        assert made.status == 200, made.body
    normal = api.call("POST", "/tickets", {"title": "slow", "user_email": "c@x.io"})
    urgent = api.call("POST", "/tickets", {"title": "down", "user_email": "c@x.io",
                                           "priority_id": 4})
    ids = [normal.body["data"]["id"], urgent.body["data"]["id"]]
    assert sorted(_ids(api.call("GET", "/tickets/?queue=sla:green"))) == sorted(ids)
    assert _ids(api.call("GET", "/tickets/?sort=sla_due")) == ids[::-1]  # soonest due first
    assert _ids(api.call("GET", "/tickets/?sort=priority")) == ids[::-1]  # most urgent first
    assert _ids(api.call("GET", "/tickets/?sort=priority&order=asc")) == ids


def test_a_rare_match_is_found_over_several_bounded_calls(helpdesk, monkeypatch):
    from helpdesk import ticket_pages

    monkeypatch.setattr(ticket_pages, "MAX_SCANNED", 10)
    ids = _fill(helpdesk, 30)
    api = _use(helpdesk)
    api.call("PUT", f"/tickets/{ids[0]}", {"type_id": 2})  # the oldest: last by creation
    first = api.call("GET", "/tickets/?type_id=2&per_page=5&sort=created")
    assert _ids(first) == [] and first.body["pagination"]["next_cursor"]  # 10 looked at
    assert first.body["pagination"]["total_is_exact"] is False
    assert _walk(api, "type_id=2&per_page=5&sort=created") == [ids[0]]
