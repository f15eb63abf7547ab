"""GET /users/ and GET /organizations/ read only the pages they return (issue "Reads that
scale"): pages walk every record once in the list's order, page 1 costs the same whatever the
number of people, and a filter no index answers is bounded."""

from __future__ import annotations

from typing import Any

import pytest

from helpdesk.inputs import OrganizationCreate, UserCreate
from helpdesk.record_pages import MAX_SCANNED
from tests.api.test_ticket_pages import CountingTable, _use
from tests.conftest import ADMIN_EMAIL, ADMIN_KEY, Clock, make_helpdesk


def _people(customers: int) -> tuple[Any, CountingTable]:
    table = CountingTable()
    helpdesk = make_helpdesk(table, Clock())
    admin = helpdesk.users.authenticate(ADMIN_EMAIL, ADMIN_KEY)
    for number in range(customers):
        helpdesk.users.create(admin, UserCreate(name=f"Client {number:03}",
                                                email=f"client{number}@example.com"))
    return helpdesk, table


def _emails(answer: Any) -> list[str]:
    assert answer.status == 200, answer.body
    return [user["email"] for user in answer.body["data"]]


def test_user_pages_walk_everyone_once_in_the_lists_order():
    helpdesk, _ = _people(45)
    api = _use(helpdesk)
    walked = [email for page in (1, 2, 3)
              for email in _emails(api.call("GET", f"/users/?per_page=20&page={page}"))]
    assert walked[0] == ADMIN_EMAIL  # staff first, then customers by name
    assert walked[1:] == [f"client{number}@example.com" for number in range(45)]
    first = api.call("GET", "/users/?per_page=20")
    assert first.body["pagination"]["total_is_exact"] is False
    assert first.body["pagination"]["total_pages"] == 2  # at least one more page
    last = api.call("GET", "/users/?per_page=20&page=3")
    assert last.body["pagination"]["total"] == 46 and "total_is_exact" not in last.body[
        "pagination"]


@pytest.mark.parametrize("customers", [30, 300])
def test_page_one_of_users_reads_a_page_whatever_the_number_of_people(customers):
    helpdesk, table = _people(customers)
    api = _use(helpdesk)
    api.call("GET", "/users/?per_page=10")  # warms what authentication caches
    table.reset()
    assert len(_emails(api.call("GET", "/users/?per_page=10"))) == 10
    assert sum(table.queried) <= 11  # the staff partition, then customers up to 11 in all


def test_a_filter_no_index_answers_reads_at_most_its_bound(monkeypatch):
    helpdesk, table = _people(60)
    monkeypatch.setattr("helpdesk.record_pages.MAX_SCANNED", 25)
    monkeypatch.setattr("helpdesk.record_pages.FILTERED_CHUNK", 10)
    api = _use(helpdesk)
    api.call("GET", "/users/?per_page=10")
    table.reset()
    answer = api.call("GET", "/users/?per_page=10&status=disabled")
    assert _emails(answer) == [] and answer.body["pagination"]["total_is_exact"] is False
    assert sum(table.queried) <= 25 + 10  # stops once the bound is passed
    assert MAX_SCANNED == 1_000


def test_organization_pages_by_name():
    helpdesk, _ = _people(0)
    admin = helpdesk.users.authenticate(ADMIN_EMAIL, ADMIN_KEY)
    for number in range(25):
        helpdesk.organizations.create(admin, OrganizationCreate(name=f"Org {number:02}"))
    api = _use(helpdesk)
    names = [org["name"] for page in (1, 2, 3)
             for org in api.call("GET", f"/organizations/?per_page=10&page={page}").body["data"]]
    assert names == [f"Org {number:02}" for number in range(25)]
