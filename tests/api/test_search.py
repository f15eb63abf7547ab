"""Search through the token index (issue 16, "Reads that scale"): the index is fed by the
table's stream, emulated here by the client draining a change feed before each call
(tests/support/stream.py)."""

from __future__ import annotations

from urllib.parse import quote

from tests.api.test_access_control import _agent, _department


def _found(api, needle: str) -> list[int]:
    answer = api.call("GET", f"/tickets/?search={quote(needle)}")
    assert answer.status == 200, answer.body
    return [int(i) for i in answer.body["data"]]


def _ticket(api, **fields) -> dict:
    answer = api.call("POST", "/tickets/", {"title": "Вопрос", "description": "Добрый день",
                                           "user_email": "c@x.io", **fields})
    assert answer.status == 200, answer.body
    return answer.body["data"]


def test_a_word_of_the_third_message_is_found_in_another_form(api):
    ticket = _ticket(api)
    other = _ticket(api, title="Доставка")
    base = f"/tickets/{ticket['id']}/posts/"
    api.call("POST", base, {"text": "Второе сообщение"})
    api.call("POST", base, {"text": "Не прошла оплата по счёту"})
    assert _found(api, "оплатой") == [ticket["id"]]
    assert _found(api, "Оплату ") == [ticket["id"]]
    assert _found(api, "счет оплата") == [ticket["id"]]
    assert _found(api, "опла") == [ticket["id"]]  # still typing
    assert _found(api, "оплата доставка") == []  # every word must match
    assert _found(api, "добрым") == [other["id"], ticket["id"]]  # newest first


def test_a_customer_is_found_by_his_new_name_after_a_rename(api):
    ticket = _ticket(api, user_email="old.name@x.io")
    user_id = ticket["user_id"]
    renamed = api.call("PUT", f"/users/{user_id}", {"name": "Аркадий", "lastname": "Новиков"})
    assert renamed.status == 200, renamed.body
    assert _found(api, "Новиковым") == [ticket["id"]]
    assert _found(api, "аркадий новиков") == [ticket["id"]]


def test_by_e_mail_and_by_unique_id_or_number(api):
    ticket = _ticket(api, user_email="olga.petrova@example.ru")
    _ticket(api, user_email="ivan@example.ru")
    assert _found(api, "olga.petrova@example.ru") == [ticket["id"]]
    assert _found(api, ticket["unique_id"]) == [ticket["id"]]
    assert _found(api, str(ticket["id"])) == [ticket["id"]]


def test_an_agent_never_finds_tickets_of_other_departments(api):
    billing = _department(api, "Billing")
    hidden = _ticket(api, title="Оплата", department_id=billing)
    mine = _ticket(api, title="Оплата", department_id=1)
    _, as_agent = _agent(api, "agent@x.io", [1])
    answer = as_agent.call("GET", "/tickets/?search=" + quote("оплатой"))
    assert [int(i) for i in answer.body["data"]] == [mine["id"]]
    assert _found(api, "оплатой") == [mine["id"], hidden["id"]]
    assert not as_agent.call("GET", f"/tickets/?search={hidden['id']}").body["data"]


def test_users_by_a_fragment_of_a_name(api):
    created = api.call("POST", "/users", {"name": "Екатерина", "lastname": "Смирнова",
                                          "email": "kate@x.io"}).body["data"]
    api.call("POST", "/users", {"name": "Иван", "email": "ivan@x.io"})

    def users(needle: str) -> list[int]:
        answer = api.call("GET", f"/users/?search={quote(needle)}")
        assert answer.status == 200, answer.body
        data = answer.body["data"]
        return [u["id"] for u in (data.values() if isinstance(data, dict) else data)]

    assert users("смирн") == [created["id"]]
    assert users("Екатериной") == [created["id"]]
    assert users("kate@x.io") == [created["id"]]
