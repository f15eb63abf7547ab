"""Web chat, site form and PBX calls: public endpoints, no API key, each scoped to what its
caller holds."""

from __future__ import annotations

import pytest

from tests.api.conftest import ApiClient

VISITOR = {"auth": False}


def _start(api: ApiClient, **fields) -> str:
    answer = api.call("POST", "/chat/visitor/id", fields, **VISITOR)
    assert answer.status == 200, answer.body
    return answer.body["data"]["id"]


def _say(api: ApiClient, session: str, text: str, **extra):
    return api.call("POST", "/chat/visitor/messages", {"text": text, **extra},
                    headers={"X-Chat-Session": session}, **VISITOR)


def _read(api: ApiClient, session: str):
    return api.call("GET", "/chat/visitor/messages", headers={"X-Chat-Session": session},
                    **VISITOR)


def test_a_visitor_chats_and_reads_the_agents_reply(api):
    session = _start(api, name="Олег", email="oleg@example.ru")
    first = _say(api, session, "Где мой заказ?")
    assert first.status == 200 and first.body["data"]["status"] == "created"
    (ticket,) = api.call("GET", "/tickets/").body["data"].values()
    assert ticket["source"] == "webchat" and ticket["user_email"] == "oleg@example.ru"
    api.call("POST", f"/tickets/{ticket['id']}/posts/", {"text": "Заказ в пути"})
    api.call("POST", f"/tickets/{ticket['id']}/comments/", {"text": "внутреннее"})
    lines = _read(api, session).body["data"]
    assert [(line["from"], line["text"]) for line in lines] == [
        ("visitor", "Где мой заказ?"), ("agent", "Заказ в пути")]


def test_a_visitor_sees_only_his_own_conversation(api):
    mine, theirs = _start(api, name="A"), _start(api, name="B")
    _say(api, mine, "secret of A")
    assert _read(api, theirs).body["data"] == []
    assert len(api.call("GET", "/tickets/").body["data"]) == 1


def test_a_retried_chat_message_is_one_post(api):
    session = _start(api)
    for _ in range(3):
        _say(api, session, "hello", client_message_id="m-1")
    assert len(_read(api, session).body["data"]) == 1


@pytest.mark.parametrize(("session", "status"), [("", 401), ("made-up-session", 401)])
def test_chat_without_a_valid_session_is_refused(api, session, status):
    answer = _say(api, session, "hi")
    assert answer.status == status and "session" in answer.body["errors"][0]["details"]


def test_chat_sizes_are_bounded(api):
    session = _start(api)
    answer = _say(api, session, "x" * 5001)
    assert answer.status == 400 and answer.body["errors"][0]["source"]["field"] == "text"
    assert _start_status(api, name="n" * 201) == 400


def _start_status(api: ApiClient, **fields) -> int:
    return api.call("POST", "/chat/visitor/id", fields, **VISITOR).status


def test_public_endpoints_are_rate_limited_per_ip(api):
    statuses = [_start_status(api, name="bot") for _ in range(31)]
    assert statuses[:30] == [200] * 30 and statuses[30] == 429


def test_the_site_form_opens_a_ticket_with_custom_fields_once(api):
    channel = api.call("POST", "/channels/", {"type": "form", "name": "Site",
                                              "department_id": 1}).body["data"]
    form = {"email": "buyer@example.com", "name": "Buyer", "subject": "Refund",
            "text": "Please refund order 77", "custom_fields": {"order": "77"},
            "submission_id": "sub-1"}
    first = api.call("POST", f"/forms/{channel['id']}", form, **VISITOR)
    again = api.call("POST", f"/forms/{channel['id']}", form, **VISITOR)
    assert first.status == 200 and first.body["data"]["ticket"].startswith("HD-")
    assert again.body["data"]["status"] == "duplicate"
    (ticket,) = api.call("GET", "/tickets/").body["data"].values()
    assert (ticket["title"], ticket["source"], ticket["custom_fields"]) == (
        "Refund", "form", {"order": "77"})
    unknown = api.call("POST", "/forms/999", form, **VISITOR)
    assert unknown.status == 404


@pytest.fixture
def pbx(api):
    created = api.call("POST", "/channels/", {"type": "phone", "name": "PBX"}).body["data"]
    return created["generated_secrets"]["channel_key"]


def _call(api: ApiClient, key: str, **event):
    return api.call("POST", f"/telephony/calls/@{key}/", event, **VISITOR)


def test_an_answered_call_lands_on_the_callers_ticket(api, pbx):
    customer = api.call("POST", "/users/", {"name": "Ирина", "email": "irina@example.ru",
                                            "phone": "+7 912 345-67-89"}).body["data"]
    for action in ("start", "answer"):
        assert _call(api, pbx, action=action, call_id="c1", phone="89123456789").body[
            "data"]["status"] == "recorded"
    done = _call(api, pbx, action="end", call_id="c1", phone="89123456789", duration=75,
                 audio_record="https://pbx.example/rec/c1.mp3", user_id=1)
    assert done.status == 200 and done.body["data"]["status"] == "created"
    ticket = api.call("GET", f"/tickets/{done.body['data']['ticket_id']}").body["data"]
    assert ticket["source"] == "phone" and ticket["user_id"] == customer["id"]
    (entry,) = api.call("GET", f"/tickets/{ticket['id']}/posts/").body["data"]
    assert "1:15" in entry["text"] and "rec/c1.mp3" in entry["text"]
    assert _call(api, pbx, action="end", call_id="c1", phone="89123456789").body[
        "data"]["status"] == "duplicate"


def test_a_missed_call_opens_one_call_back_ticket_per_number(api, pbx):
    first = _call(api, pbx, action="start", call_id="m1", phone="+7 (912) 000-11-22")
    assert first.status == 200
    missed = _call(api, pbx, action="end", call_id="m1", phone="+7 (912) 000-11-22",
                   call_status="no_answer")
    ticket = api.call("GET", f"/tickets/{missed.body['data']['ticket_id']}").body["data"]
    assert ticket["title"] == "Missed call from +79120001122"
    again = _call(api, pbx, action="end", call_id="m2", phone="89120001122",
                  call_status="missed")
    assert again.body["data"]["ticket_id"] == ticket["id"]  # one call-back ticket per number


def test_a_wrong_channel_key_or_bad_phone_is_refused(api, pbx):
    channel_id = pbx.split("-")[0]
    assert _call(api, f"{channel_id}-wrong", action="end", call_id="x",
                 phone="+79120001122").status == 403
    assert _call(api, "999-abc", action="end", call_id="x", phone="+79120001122").status == 404
    bad = _call(api, pbx, action="end", call_id="x", phone="call me")
    assert bad.status == 400 and bad.body["errors"][0]["source"]["field"] == "phone"
    assert not api.call("GET", "/tickets/").body["data"]



def test_guessing_pbx_channel_keys_is_throttled_per_ip_and_the_pbx_goes_on(api, pbx):
    channel_id = pbx.split("-")[0]
    guesses = [api.call("POST", f"/telephony/calls/@{channel_id}-guess{n}/",
                        {"action": "end", "call_id": "x", "phone": "+79120001122"},
                        source_ip="203.0.113.9", **VISITOR) for n in range(11)]
    assert [g.status for g in guesses] == [403] * 10 + [429]
    assert int(guesses[10].headers["Retry-After"]) > 0
    unknown = api.call("POST", "/telephony/calls/@998-abc/", {"action": "end", "call_id": "x",
                       "phone": "+79120001122"}, source_ip="203.0.113.9", **VISITOR)
    assert unknown.status == 429  # unknown channels count as guesses too
    # The PBX holding the key, from its own address, records calls as before.
    done = api.call("POST", f"/telephony/calls/@{pbx}/", {"action": "end", "call_id": "ok",
                    "phone": "+79120001122", "call_status": "missed"},
                    source_ip="198.51.100.7", **VISITOR)
    assert done.status == 200 and done.body["data"]["status"] == "created"


def test_pbx_events_are_limited_per_ip(api, pbx):
    def start(n: int, ip: str) -> int:
        return api.call("POST", f"/telephony/calls/@{pbx}/", {
            "action": "start", "call_id": f"c{n}", "phone": "+79120001122"},
            source_ip=ip, **VISITOR).status

    statuses = [start(n, "203.0.113.20") for n in range(601)]
    assert statuses[:600] == [200] * 600 and statuses[600] == 429
    assert start(1000, "203.0.113.21") == 200  # another PBX is not affected
