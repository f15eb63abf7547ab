"""Every route of the v2 API through the Lambda handler, as an integrator uses it."""

from __future__ import annotations

import pytest


def _ticket(api, **fields):
    answer = api.call("POST", "/tickets/", {"title": "Help", "user_email": "c@x.io", **fields})
    assert answer.status == 200, answer.body
    return answer.body["data"]


def test_dictionaries_are_listed_with_localized_names(api):
    for kind in ("departments", "statuses", "priorities", "types", "groups", "user_statuses"):
        answer = api.call("GET", f"/{kind}/")
        assert answer.status == 200
        assert all({"id", "name"} <= set(entry) for entry in answer.body["data"])
    statuses = api.call("GET", "/statuses").body["data"]
    assert [s["id"] for s in statuses] == ["open", "pending", "on_hold", "closed"]
    assert statuses[0]["name"]["ru"] == "Открыта"


def test_admin_adds_a_department_and_a_custom_status(api):
    added = api.call("POST", "/departments", {"name": {"en": "Billing", "ru": "Бухгалтерия"}})
    assert added.status == 200 and isinstance(added.body["data"]["id"], int)
    status = api.call("POST", "/statuses", {"id": "in_progress", "name": {"en": "In progress"}})
    assert status.body["data"]["id"] == "in_progress"
    assert _ticket(api, status_id="in_progress")["status_id"] == "in_progress"


def test_ticket_create_read_update_and_list_shapes(api):
    created = _ticket(api, description="Printer on fire", cc=["boss@x.io"], tags=["vip"])
    assert created["unique_id"] == f"HD-{created['id']}"
    assert created["user_email"] == "c@x.io" and created["cc"] == ["boss@x.io"]
    assert len(created["date_created"]) == len("22.11.2026 10:00:00")
    read = api.call("GET", f"/tickets/{created['id']}").body["data"]
    assert read == created
    updated = api.call("PUT", f"/tickets/{created['id']}/",
                       {"status_id": "pending", "owner_id": 1, "priority_id": "3"})
    assert updated.status == 200
    assert (updated.body["data"]["status_id"], updated.body["data"]["owner_id"],
            updated.body["data"]["priority_id"]) == ("pending", 1, 3)
    listing = api.call("GET", "/tickets/?status_id=pending").body
    assert list(listing["data"]) == [str(created["id"])]
    assert listing["pagination"] == {"total": 1, "per_page": 30, "current_page": 1,
                                     "total_pages": 1, "next_cursor": None}


def test_ticket_list_pages(api):
    for number in range(5):
        _ticket(api, title=f"t{number}")
    page = api.call("GET", "/tickets?per_page=2&page=3").body
    assert len(page["data"]) == 1
    assert page["pagination"] == {"total": 5, "per_page": 2, "current_page": 3, "total_pages": 3,
                                  "next_cursor": None}


def test_form_encoded_bodies_are_understood(api):
    answer = api.call("POST", "/tickets", "title=Form&user_email=f@x.io&tags[]=a&tags[]=b",
                      headers={"content-type": "application/x-www-form-urlencoded"})
    assert answer.status == 200
    assert answer.body["data"]["tags"] == ["a", "b"]


def test_posts_and_comments_full_cycle(api):
    ticket = _ticket(api)
    base = f"/tickets/{ticket['id']}"
    post = api.call("POST", f"{base}/posts/", {"text": "We are on it"}).body["data"]
    assert post["author_type"] == "staff" and post["files"] == []
    comment = api.call("POST", f"{base}/comments", {"text": "internal"}).body["data"]
    assert comment["visible"] is False
    edited = api.call("PUT", f"{base}/posts/{post['id']}", {"text": "We are on it!"})
    assert edited.body["data"]["text"] == "We are on it!"
    assert [p["text"] for p in api.call("GET", f"{base}/posts").body["data"]] == ["We are on it!"]
    assert api.call("DELETE", f"{base}/comments/{comment['id']}/").status == 200
    assert api.call("GET", f"{base}/comments").body["data"] == []
    missing = api.call("PUT", f"{base}/posts/999", {"text": "x"})
    assert missing.status == 404 and "post 999" in missing.body["errors"][0]["details"]


def test_search_finds_words_of_any_post_but_not_of_private_comments(api):
    ticket = _ticket(api)
    other = _ticket(api)
    base = f"/tickets/{ticket['id']}"
    api.call("POST", f"{base}/posts/", {"text": "Замените картридж Canon LBP"})
    api.call("POST", f"{base}/comments/", {"text": "internal-codeword"})

    def found(needle: str) -> list[int]:
        return sorted(int(i) for i in api.call("GET", f"/tickets/?search={needle}").body["data"])

    assert found("КАРТРИДЖ canon") == [ticket["id"]]
    assert found("internal-codeword") == []
    assert found(str(other["id"])) == [other["id"]]


def test_audit_trail_shows_who_changed_what(api):
    ticket = _ticket(api)
    api.call("PUT", f"/tickets/{ticket['id']}", {"status_id": "closed"})
    rows = api.call("GET", f"/tickets/{ticket['id']}/audit/").body["data"]
    change = next(r for r in rows if r["action"] == "updated")
    assert (change["field"], change["old_value"], change["new_value"]) == (
        "status_id", "open", "closed")
    assert change["actor_type"] == "staff" and change["actor_id"] == 1


def test_trash_restore_and_permanent_delete(api):
    ticket = _ticket(api)
    path = f"/tickets/{ticket['id']}"
    assert api.call("DELETE", path).body["data"]["trashed"] is True
    assert api.call("GET", path).body["data"]["deleted"] is True
    assert api.call("GET", "/tickets?trash=1").body["pagination"]["total"] == 1
    assert api.call("POST", f"{path}/restore").body["data"]["deleted"] is False
    assert api.call("DELETE", f"{path}?delete=true").body["data"]["deleted"] is True
    assert api.call("GET", path).status == 404


def test_users_crud_and_filters(api):
    created = api.call("POST", "/users/", {"name": "Ann", "email": "ann@x.io", "group_id": 2,
                                           "department": [1]})
    assert created.status == 200
    user = created.body["data"]
    assert user["api_key"] and user["group_id"] == 2
    assert "api_key" not in api.call("GET", f"/users/{user['id']}").body["data"]
    staff = api.call("GET", "/users?group_id=2").body["data"]
    assert [u["email"] for u in staff] == ["ann@x.io"]
    renamed = api.call("PUT", f"/users/{user['id']}", {"lastname": "Lee"})
    assert renamed.body["data"]["lastname"] == "Lee"
    as_ann = api.as_user("ann@x.io", user["api_key"])
    assert as_ann.call("GET", "/tickets").status == 200
    assert api.call("DELETE", f"/users/{user['id']}").status == 200
    assert api.call("GET", f"/users/{user['id']}").status == 404
    assert as_ann.call("GET", "/tickets").status == 401


def test_a_group_that_would_turn_a_customer_into_staff_is_a_422_naming_it(api):
    customer = api.call("POST", "/users/", {"name": "Cat", "email": "cat@x.io"}).body["data"]
    refused = api.call("PUT", f"/users/{customer['id']}", {"group_id": 2})
    assert refused.status == 422 and refused.body["errors"][0]["source"]["field"] == "group_id"
    assert api.call("GET", f"/users/{customer['id']}").body["data"]["group_id"] != 2


def test_dates_are_written_with_four_digit_years(api):
    ticket = _ticket(api, sla_date="01.01.0546 00:00:01")
    assert ticket["sla_date"] == "01.01.0546 00:00:01"


def test_agent_of_another_department_gets_404(api):
    billing = api.call("POST", "/departments", {"name": {"en": "Billing"}}).body["data"]["id"]
    agent = api.call("POST", "/users", {"name": "Bo", "email": "bo@x.io", "group_id": 2,
                                        "department": [billing]}).body["data"]
    support_ticket = _ticket(api)
    as_agent = api.as_user("bo@x.io", agent["api_key"])
    answer = as_agent.call("GET", f"/tickets/{support_ticket['id']}")
    assert answer.status == 404 and answer.body["errors"][0]["code"] == "not_found"
    assert as_agent.call("GET", "/tickets").body["data"] == {}


def test_rate_limit_headers_429_and_block(api, memory_table, clock):
    from api import deps
    from tests.conftest import make_helpdesk

    deps.helpdesk.use(make_helpdesk(memory_table, clock, per_minute=5, block_seconds=60))
    first = api.call("GET", "/statuses")
    assert first.headers["X-Rate-Limit"] == "5"  # the test helpdesk allows 5 per minute
    assert first.headers["X-Rate-Limit-Remaining"] == "4"
    for _ in range(4):
        api.call("GET", "/statuses")
    over = api.call("GET", "/statuses")
    assert over.status == 429
    assert over.headers["X-Rate-Limit-Remaining"] == "0" and over.headers["Retry-After"] == "60"
    assert over.body["errors"][0]["code"] == "rate_limited"


@pytest.mark.parametrize("path", ["/nothing", "/tickets/1/nothing"])
def test_unknown_routes_answer_404_with_the_envelope(api, path):
    answer = api.call("GET", path)
    assert answer.status == 404 and answer.body["errors"][0]["code"] == "not_found"


def test_organizations_domains_membership_and_filters(api):
    early = api.call("POST", "/users", {"name": "Early", "email": "early@acme.io"}).body["data"]
    created = api.call("POST", "/organizations/", {
        "name": "ACME", "domains": ["@Acme.io"], "phone": "+1 555", "employees": [early["id"]],
        "managers": [1]})
    assert created.status == 200, created.body
    acme = created.body["data"]
    assert acme["domains"] == ["acme.io"] and acme["employees"] == [early["id"]]
    # A new customer from a claimed domain joins the organization.
    ticket = api.call("POST", "/tickets", {"title": "x", "user_email": "new@acme.io"}).body
    newcomer = api.call("GET", f"/users/{ticket['data']['user_id']}").body["data"]
    assert (newcomer["organiz_id"], newcomer["organization"]) == (acme["id"], "ACME")
    members = api.call("GET", f"/organizations/{acme['id']}").body["data"]["employees"]
    assert sorted(members) == sorted([early["id"], newcomer["id"]])
    assert [u["id"] for u in api.call("GET", f"/users?organization_id={acme['id']}").body[
        "data"]] == sorted([early["id"], newcomer["id"]], key=lambda i: i != early["id"])
    by_member = api.call("GET", f"/organizations?employee_id={newcomer['id']}").body["data"]
    assert [o["id"] for o in by_member] == [acme["id"]]
    assert api.call("GET", "/organizations?manager_id=1&search=acm").body["pagination"][
        "total"] == 1
    # A domain belongs to one organization.
    taken = api.call("POST", "/organizations", {"name": "Other", "domains": ["acme.io"]})
    assert taken.status == 409 and "acme.io" in taken.body["errors"][0]["details"]
    moved = api.call("PUT", f"/organizations/{acme['id']}", {"employees": [newcomer["id"]]})
    assert moved.body["data"]["employees"] == [newcomer["id"]]
    assert api.call("GET", f"/users/{early['id']}").body["data"]["organiz_id"] == 0
    assert api.call("DELETE", f"/organizations/{acme['id']}").status == 200
    assert api.call("GET", f"/users/{newcomer['id']}").body["data"]["organiz_id"] == 0
    reused = api.call("POST", "/organizations", {"name": "ACME 2", "domains": ["acme.io"]})
    assert reused.status == 200


def test_organization_input_is_validated(api):
    bad_domain = api.call("POST", "/organizations", {"name": "X", "domains": ["not a domain"]})
    assert bad_domain.status == 400 and bad_domain.body["errors"][0]["source"]["field"] == (
        "domains")
    no_name = api.call("POST", "/organizations", {"domains": ["x.io"]})
    assert no_name.status == 400 and "name" in no_name.body["errors"][0]["details"]
    staff_as_employee = api.call("POST", "/organizations", {"name": "Y", "employees": [1]})
    assert staff_as_employee.status == 422  # well-formed, names a staff member
    assert api.call("GET", "/organizations").body["data"] == []  # nothing half-made


def test_the_openapi_document_needs_no_key(api):
    answer = api.call("GET", "/openapi.json", auth=False)
    assert answer.status == 200 and answer.body["openapi"].startswith("3.")
    assert "/api/v2/tickets/{ticket_id}/posts" in answer.body["paths"]
