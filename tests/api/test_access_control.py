"""Access control tried from the attacker's side, through the API as integrations call it
(issue "Hardening", points 1-5): an agent or a customer with a valid key trying to widen what
he may see or to speak as someone else."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import ApiClient


def _agent(api: ApiClient, email: str, departments: list[int]) -> tuple[dict[str, Any],
                                                                         ApiClient]:
    created = api.call("POST", "/users", {"name": "Agent", "email": email, "group_id": 2,
                                          "department": departments})
    assert created.status == 200, created.body
    user = created.body["data"]
    return user, api.as_user(email, user["api_key"])


def _customer(api: ApiClient, email: str) -> tuple[dict[str, Any], ApiClient]:
    user = api.call("POST", "/users", {"name": "Customer", "email": email}).body["data"]
    key = api.call("POST", f"/users/{user['id']}/api_key").body["data"]["api_key"]
    return user, api.as_user(email, key)


def _department(api: ApiClient, name: str) -> int:
    return int(api.call("POST", "/departments", {"name": {"en": name}}).body["data"]["id"])


def test_an_agent_cannot_widen_his_own_departments_or_change_his_group(api):
    billing = _department(api, "Billing")
    secret = api.call("POST", "/tickets", {"title": "Invoice", "user_email": "c@x.io",
                                           "department_id": billing}).body["data"]
    agent, as_agent = _agent(api, "bo@x.io", [1])
    for change in ({"department": [1, billing]}, {"group_id": 1}, {"status": "active"},
                   {"organiz_id": 1}, {"custom_fields": {"level": "vip"}}):
        refused = as_agent.call("PUT", f"/users/{agent['id']}", change)
        field = next(iter(change))
        assert refused.status == 403, (change, refused.body)
        assert refused.body["errors"][0]["source"]["field"] == field
    assert as_agent.call("GET", f"/tickets/{secret['id']}").status == 404
    assert api.call("GET", f"/users/{agent['id']}").body["data"]["department"] == [1]
    # His profile stays his to edit.
    renamed = as_agent.call("PUT", f"/users/{agent['id']}", {"lastname": "Lee",
                                                            "language": "ru"})
    assert renamed.status == 200 and renamed.body["data"]["lastname"] == "Lee"


def test_a_customer_cannot_join_an_organization_and_none_can_be_joined_that_does_not_exist(api):
    acme = api.call("POST", "/organizations", {"name": "ACME"}).body["data"]
    customer, as_customer = _customer(api, "eve@x.io")
    joined = as_customer.call("PUT", f"/users/{customer['id']}", {"organiz_id": acme["id"]})
    assert joined.status == 403 and joined.body["errors"][0]["source"]["field"] == "organiz_id"
    assert as_customer.call("GET", f"/organizations/{acme['id']}").status in (403, 404)
    assert api.call("GET", f"/users/{customer['id']}").body["data"]["organiz_id"] == 0
    missing = api.call("PUT", f"/users/{customer['id']}", {"organiz_id": 999})
    assert missing.status == 422 and "999" in missing.body["errors"][0]["details"]


def test_a_customer_opens_a_ticket_with_title_and_text_only(api):
    agent, _ = _agent(api, "bo@x.io", [1])
    _, as_customer = _customer(api, "eve@x.io")
    for field, value in (("owner_id", agent["id"]), ("status_id", "closed"),
                         ("priority_id", 3), ("tags", ["vip"]), ("followers", [agent["id"]]),
                         ("department_id", 1), ("custom_fields", {"level": "vip"})):
        refused = as_customer.call("POST", "/tickets", {"title": "Hi", field: value})
        assert refused.status == 403, (field, refused.body)
        assert refused.body["errors"][0]["source"]["field"] == field
    opened = as_customer.call("POST", "/tickets", {"title": "Hi", "description": "Help me"})
    assert opened.status == 200, opened.body
    ticket = api.call("GET", f"/tickets/{opened.body['data']['id']}").body["data"]
    assert (ticket["status_id"], ticket["owner_id"], ticket["tags"]) == ("open", 0, [])


def test_a_customer_sees_no_internal_field_of_his_ticket_or_of_himself(api):
    customer, as_customer = _customer(api, "eve@x.io")
    agent, _ = _agent(api, "bo@x.io", [1])
    ticket = api.call("POST", "/tickets", {"title": "Hi", "user_id": customer["id"]}).body[
        "data"]
    api.call("PUT", f"/tickets/{ticket['id']}", {
        "owner_id": agent["id"], "bcc": ["boss@x.io"], "tags": ["difficult"],
        "followers": [agent["id"]], "custom_fields": {"internal_note": "slow payer"}})
    internal = {"owner_id", "bcc", "followers", "tags", "custom_fields", "sla"}
    seen = as_customer.call("GET", f"/tickets/{ticket['id']}").body["data"]
    assert seen["title"] == "Hi" and not internal & set(seen)
    listed = as_customer.call("GET", "/tickets").body["data"][str(ticket["id"])]
    assert not internal & set(listed)
    assert "slow payer" not in str(as_customer.call("GET", "/tickets").body)
    himself = as_customer.call("GET", f"/users/{customer['id']}").body["data"]
    assert himself["email"] == "eve@x.io"
    assert not {"group_id", "department", "custom_fields", "contacts"} & set(himself)
    assert internal <= set(api.call("GET", f"/tickets/{ticket['id']}").body["data"])


def test_staff_write_on_behalf_of_the_tickets_customer_only_and_the_audit_names_both(api):
    billing = _department(api, "Billing")
    customer, _ = _customer(api, "eve@x.io")
    stranger, _ = _customer(api, "mallory@x.io")
    other = api.call("POST", "/tickets", {"title": "Other", "user_email": "z@x.io",
                                          "department_id": billing}).body["data"]
    ticket = api.call("POST", "/tickets", {"title": "Hi", "user_id": customer["id"]}).body[
        "data"]
    agent, as_agent = _agent(api, "bo@x.io", [1])
    for user_id, status in ((1, 403), (stranger["id"], 403)):  # the admin; not its customer
        refused = as_agent.call("POST", f"/tickets/{ticket['id']}/posts",
                                {"text": "it is me", "user_id": user_id})
        assert refused.status == status, (user_id, refused.body)
    elsewhere = as_agent.call("POST", f"/tickets/{other['id']}/posts",
                              {"text": "hi", "user_id": other["user_id"]})
    assert elsewhere.status == 404  # a ticket of a department he is not in
    posted = as_agent.call("POST", f"/tickets/{ticket['id']}/posts",
                           {"text": "From the customer's call", "user_id": customer["id"]})
    assert posted.status == 200, posted.body
    audit = api.call("GET", f"/tickets/{ticket['id']}/audit").body["data"]
    (row,) = [r for r in audit if r["action"] == "post_added"]
    assert (row["actor_id"], row["actor_type"]) == (customer["id"], "customer")
    assert (row["acting_id"], row["acting_name"]) == (agent["id"], "Agent")


def test_wrong_keys_are_throttled_per_source_ip_and_never_lock_out_the_real_key(api):
    from tests.conftest import ADMIN_EMAIL

    thief = api.as_user(ADMIN_EMAIL, "guessed-key")
    answers = [thief.call("GET", "/tickets", source_ip="203.0.113.9") for _ in range(11)]
    assert [a.status for a in answers[:10]] == [401] * 10
    assert answers[10].status == 429 and int(answers[10].headers["Retry-After"]) > 0
    assert answers[10].body["errors"][0]["code"] == "rate_limited"
    assert thief.call("GET", "/tickets", source_ip="203.0.113.9").status == 429
    # The owner of the key, from anywhere (even the same address), gets in.
    assert api.call("GET", "/tickets", source_ip="198.51.100.7").status == 200
    assert api.call("GET", "/tickets", source_ip="203.0.113.9").status == 200


def test_wrong_keys_for_one_e_mail_are_throttled_across_addresses(api):
    from tests.conftest import ADMIN_EMAIL

    thief = api.as_user(ADMIN_EMAIL, "guessed-key")
    statuses = [thief.call("GET", "/tickets", source_ip=f"203.0.113.{n}").status
                for n in range(1, 12)]
    assert statuses == [401] * 10 + [429]
    assert api.call("GET", "/tickets", source_ip="203.0.113.50").status == 200


def test_an_unknown_e_mail_costs_the_same_reads_as_a_known_one(api, helpdesk, monkeypatch):
    """The answer's time told which e-mails have accounts (10 ms against 3.7 ms)."""
    from tests.conftest import ADMIN_EMAIL

    reads: list[tuple[str, str]] = []
    real_get = helpdesk.table.get

    def counting_get(pk: str, sk: str) -> Any:
        reads.append((pk, sk))
        return real_get(pk, sk)

    monkeypatch.setattr(helpdesk.table, "get", counting_get)

    def reads_of(email: str, source_ip: str) -> int:
        reads.clear()
        assert api.as_user(email, "wrong").call("GET", "/tickets",
                                                source_ip=source_ip).status == 401
        return len(reads)

    assert reads_of(ADMIN_EMAIL, "192.0.2.1") == reads_of("nobody@x.io", "192.0.2.2")
