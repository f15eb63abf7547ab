"""Exactly-once under real concurrency, against `make run` over real HTTP and SMTP: the copies
of one delivery arrive at the same moment (threads released by a barrier), as they do when a
provider retries while the first attempt is still running."""

from __future__ import annotations

import copy
import dataclasses
import json
import smtplib
import threading
import time
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from typing import Any

import pytest
import requests

from devstack.process import start_stack
from tests.channels.test_adapters import SAMPLE, SECRETS, auth_headers, raw
from tests.fakes.providers import FakeProviders
from tests.support.live import session, wait_for

ADMIN = ("e2e-concurrency-admin@example.com", "e2e-concurrency-admin-key")
COPIES = 10
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack() -> Iterator[dict]:
    # The fake provider is on 127.0.0.1, which channels reach only when allow-listed.
    started = start_stack(ADMIN, env={"WEBHOOK_ALLOW_HOSTS": "127.0.0.1"})
    yield {**started.ready, "base": started.base}
    started.stop()


@pytest.fixture(scope="module")
def fake_api() -> Iterator[FakeProviders]:
    with FakeProviders() as fake:
        yield fake


@pytest.fixture(scope="module")
def admin() -> requests.Session:
    return session(*ADMIN)


def at_once(count: int, action: Callable[[int], Any]) -> list[Any]:
    """Runs `action(i)` on `count` threads released together; their results (or errors)."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = action(index)
        except Exception as problem:  # reported by the caller's assertions
            results[index] = problem

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results


def _channel(admin: requests.Session, api: str, kind: str, fake: FakeProviders) -> dict:
    secrets = {k: v for k, v in dataclasses.asdict(SECRETS[kind]).items() if v}
    created = admin.post(f"{api}/channels/", json={
        "type": kind, "name": f"{kind} concurrency", "secrets": secrets,
        "options": {"api_base_url": fake.url}}, timeout=30)
    assert created.status_code == 200, created.text
    return created.json()["data"]


def _tickets(admin: requests.Session, api: str, source: str) -> list[dict]:
    listed = admin.get(f"{api}/tickets/", params={"per_page": 100}, timeout=30)
    assert listed.status_code == 200, listed.text
    return [t for t in listed.json()["data"].values() if t["source"] == source]


def _posts(admin: requests.Session, api: str, ticket_id: int) -> list[dict]:
    answer = admin.get(f"{api}/tickets/{ticket_id}/posts/", timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]


def _body(kind: str) -> bytes:
    body = json.loads(raw(SAMPLE[kind]))
    if kind == "custom":
        body.pop("attachments", None)  # files.example.com: tests never reach the internet
    return json.dumps(body).encode()


@pytest.mark.parametrize("kind", sorted(SAMPLE))
def test_one_update_delivered_ten_times_at_once_is_one_post(stack, admin, fake_api, kind):
    api, base = stack["api_url"], stack["base"]
    channel = _channel(admin, api, kind, fake_api)
    body = _body(kind)
    headers = {"Content-Type": "application/json",
               **auth_headers(kind, body, timestamp=int(time.time()))}

    def deliver(_: int) -> requests.Response:
        return requests.post(f"{base}{channel['webhook_path']}", data=body, headers=headers,
                             timeout=120)

    answers = at_once(COPIES, deliver)
    statuses = [getattr(answer, "status_code", answer) for answer in answers]
    # Every copy is acknowledged (a provider retries anything else), none is a server error.
    assert statuses == [200] * COPIES, [getattr(a, "text", a) for a in answers]
    (ticket,) = _tickets(admin, api, kind)
    assert len(_posts(admin, api, ticket["id"])) == 1


def test_one_mail_delivered_ten_times_at_once_is_one_post(stack, admin):
    api = stack["api_url"]
    mail = EmailMessage()
    mail["From"] = "Ирина Смирнова <irina.concurrent@example.org>"
    mail["To"] = "support@example.com"
    mail["Subject"] = "Счёт не пришёл"
    mail["Message-ID"] = "<concurrent-copies-1@example.org>"
    mail.set_content("Добрый день! Счёт за ноябрь так и не пришёл.")

    def deliver(_: int) -> None:
        with smtplib.SMTP("127.0.0.1", stack["smtp_port"], timeout=120) as smtp:
            smtp.send_message(mail)

    assert at_once(COPIES, deliver) == [None] * COPIES  # every copy accepted: 250
    tickets = [t for t in _tickets(admin, api, "email")
               if t["user_email"] == "irina.concurrent@example.org"]
    assert len(tickets) == 1
    assert len(_posts(admin, api, tickets[0]["id"])) == 1


def test_two_first_messages_at_once_make_one_customer_one_ticket_two_posts(stack, admin,
                                                                           fake_api):
    api, base = stack["api_url"], stack["base"]
    channel = _channel(admin, api, "telegram", fake_api)
    webhook = f"{base}{channel['webhook_path']}"
    signed = {"X-Telegram-Bot-Api-Secret-Token": SECRETS["telegram"].webhook_secret}
    template = json.loads(raw("telegram_text"))
    for pair in range(5):  # several pairs: each is a fresh contact racing with himself
        chat = 700_000_000 + pair
        updates = []
        for n in range(2):
            update = copy.deepcopy(template)
            update["update_id"] = chat * 10 + n
            update["message"]["message_id"] = n + 1
            update["message"]["text"] = f"message {n} of pair {pair}"
            update["message"]["chat"]["id"] = update["message"]["from"]["id"] = chat
            update["message"]["from"]["first_name"] = f"Racer {pair}"
            updates.append(update)

        def deliver(n: int, updates: list[dict] = updates) -> int:
            return requests.post(webhook, json=updates[n], headers=signed,
                                 timeout=120).status_code

        assert at_once(2, deliver) == [200, 200]
        mine = [t for t in _tickets(admin, api, "telegram")
                if any(f"pair {pair}" in p["text"]
                       for p in _posts(admin, api, t["id"]))]
        assert len(mine) == 1, f"pair {pair}: {len(mine)} tickets"
        texts = sorted(p["text"] for p in _posts(admin, api, mine[0]["id"]))
        assert texts == [f"message 0 of pair {pair}", f"message 1 of pair {pair}"]

        def racers(pair: int = pair) -> Any:  # the token index follows the stream: poll
            found = admin.get(f"{api}/users/", params={"search": f"Racer {pair} ",
                                                       "per_page": 100}, timeout=30)
            assert found.status_code == 200, found.text
            return found.json()["data"]

        assert len(wait_for(racers)) == 1


def test_simultaneous_changes_of_different_fields_all_stay_with_one_audit_row_each(
        stack, admin):
    api = stack["api_url"]
    created = admin.post(f"{api}/tickets/", json={
        "title": "Concurrent edits", "description": "first", "user_email":
        "concurrent.edits@example.org"}, timeout=30)
    assert created.status_code == 200, created.text
    ticket_id = created.json()["data"]["id"]
    me = wait_for(lambda: admin.get(f"{api}/users/", params={"search": ADMIN[0]},
                                    timeout=30).json()["data"])
    admin_id = next(iter(me.values()) if isinstance(me, dict) else iter(me))["id"]
    changes: list[dict[str, Any]] = [
        {"title": "Concurrent edits, renamed"},
        {"priority_id": 3},
        {"ticket_lock": 1},
        {"cc": ["cc.concurrent@example.org"]},
        {"bcc": ["bcc.concurrent@example.org"]},
        {"tags": ["concurrency"]},
        {"custom_fields": {"order": "1001"}},
        {"owner_id": admin_id},
        {"followers": [admin_id]},
        {"sla_date": "2027-01-15 12:00:00"},
        {"status_id": "pending"},
        {"type_id": 2},
        {"description": "changed at the same moment"},
    ]

    def put(index: int) -> requests.Response:
        return session(*ADMIN).put(f"{api}/tickets/{ticket_id}/", json=changes[index],
                                   timeout=120)

    answers = at_once(len(changes), put)
    statuses = [getattr(answer, "status_code", answer) for answer in answers]
    assert all(status in (200, 409) for status in statuses), [x for x in [
        (getattr(a, "status_code", a), getattr(a, "text", "")) for a in answers] if x[0] != 200]
    acknowledged = [change for change, status in zip(changes, statuses, strict=True)
                    if status == 200]
    assert acknowledged, statuses
    ticket = admin.get(f"{api}/tickets/{ticket_id}/", timeout=30).json()["data"]
    audit = admin.get(f"{api}/tickets/{ticket_id}/audit", timeout=30).json()["data"]
    for change in acknowledged:
        (field, value), = change.items()
        shown = ticket.get(field)
        if field == "description":
            pass  # not in the ticket's view: its audit row below is the proof
        elif field == "sla_date":
            assert shown == "15.01.2027 12:00:00", (field, shown)
        elif field == "custom_fields":
            assert shown.get("order") == "1001", shown
        elif field == "ticket_lock":
            assert shown in (True, 1), shown
        elif isinstance(value, list):
            assert set(value) <= set(shown), (field, shown)
        else:
            assert str(shown) == str(value), (field, shown)
        rows = [row for row in audit if row["field"] == field
                and row["action"] == "updated"]
        assert len(rows) == 1, (field, rows)


def test_forty_visitor_sign_ups_at_once_get_a_session_or_a_429_never_a_500(stack):
    """The public chat sign-up is limited per IP (30 a minute); a burst past it is refused
    cleanly, and every session it acknowledged works."""
    api = f"{stack['base']}/api/v2"

    def sign_up(index: int) -> requests.Response:
        return requests.post(f"{api}/chat/visitor/id", json={"name": f"Visitor {index}"},
                             timeout=60)

    before = time.time()
    answers = at_once(40, sign_up)
    same_minute = int(before // 60) == int(time.time() // 60)
    statuses = [getattr(a, "status_code", a) for a in answers]
    assert set(statuses) <= {200, 429}, statuses
    granted = [a.json()["data"]["id"] for a in answers if a.status_code == 200]
    assert len(set(granted)) == len(granted) >= 30  # distinct sessions, none refused early
    if same_minute:  # the stack's clock is the host's here: one window, exactly the limit
        assert statuses.count(200) == 30 and statuses.count(429) == 10


def test_no_scan_ran(stack):
    calls = requests.get(f"{stack['base']}/_local/aws-calls", timeout=10).json()["dynamodb"]
    assert calls.get("Scan", 0) == 0

