"""Tickets that arrive by mail and by Telegram through `make run` (a subprocess, real SMTP and
HTTP) are found through every queue an agent works from and through search, with sidebar
counts that add up, and an agent of another department sees none of them (issue "Reads that
scale")."""

from __future__ import annotations

import json
import smtplib
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
import requests

from devstack.process import start_stack
from tests.fakes.providers import FakeProviders
from tests.support.live import session, wait_for

ADMIN = ("e2e-reads-admin@example.com", "e2e-reads-admin-key")
PAYLOADS = Path(__file__).resolve().parents[1] / "channels" / "payloads"
SECRET = "e2e-reads-telegram-secret"
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack() -> Iterator[dict]:
    started = start_stack(ADMIN, env={"WEBHOOK_ALLOW_HOSTS": "127.0.0.1"})
    yield {**started.ready, "base": started.base}
    started.stop()


def _mail() -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = "Ирина Петрова <irina@example.ru>"
    mail["To"] = "support@example.com"
    mail["Subject"] = "Не проходит оплата картой"
    mail["Message-ID"] = "<e2e-reads-1@example.ru>"
    mail.set_content("Здравствуйте! Карта отклонена при оплате заказа.")
    return mail


def _queue(admin: requests.Session, api: str, queue: str) -> list[int]:
    answer = admin.get(f"{api}/tickets/", params={"queue": queue, "per_page": 100}, timeout=30)
    assert answer.status_code == 200, answer.text
    return [int(ticket_id) for ticket_id in answer.json()["data"]]


def test_mail_and_messenger_tickets_are_found_through_every_queue_and_search(stack):
    api, base = stack["api_url"], stack["base"]
    admin = session(*ADMIN)
    with smtplib.SMTP("127.0.0.1", stack["smtp_port"], timeout=60) as smtp:
        smtp.send_message(_mail())
    with FakeProviders() as telegram:
        channel = admin.post(f"{api}/channels/", json={
            "type": "telegram", "name": "Bot", "options": {"api_base_url": telegram.url},
            "secrets": {"token": "123456:e2e-reads", "webhook_secret": SECRET}},
            timeout=30).json()["data"]
        update = json.loads((PAYLOADS / "telegram_text.json").read_text(encoding="utf-8"))
        answer = requests.post(f"{base}{channel['webhook_path']}", json=update, timeout=30,
                               headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
        assert answer.status_code == 200, answer.text

    by_mail = wait_for(lambda: _queue(admin, api, "source:email"))
    by_telegram = wait_for(lambda: _queue(admin, api, "source:telegram"))
    assert len(by_mail) == 1 and len(by_telegram) == 1
    both = {*by_mail, *by_telegram}
    for queue in ("all", "open", "unassigned"):
        assert both <= set(_queue(admin, api, queue)), queue
    mail_ticket = admin.get(f"{api}/tickets/{by_mail[0]}/", timeout=30).json()["data"]
    assert _queue(admin, api, f"customer:{mail_ticket['user_id']}") == by_mail
    assert not both & set(_queue(admin, api, "closed"))

    # Search through the token index (kept from the table's stream: poll until it caught up):
    # an inflected word of the mail's text, a word of the Telegram message, the sender.
    def found(text: str) -> list[int]:
        answer = admin.get(f"{api}/tickets/", params={"search": text}, timeout=30)
        assert answer.status_code == 200, answer.text
        return [int(ticket_id) for ticket_id in answer.json()["data"]]

    assert wait_for(lambda: found("оплатой")) == by_mail
    assert wait_for(lambda: found("принтеры")) == by_telegram
    assert wait_for(lambda: found("irina@example.ru")) == by_mail

    # Worked on: assigned to the admin, tagged, closed; the queues and the counts follow.
    me = admin.get(f"{api}/users/", params={"search": ADMIN[0]}, timeout=30).json()["data"]
    my_id = next(int(user["id"]) for user in me if user["email"] == ADMIN[0])
    changed = admin.put(f"{api}/tickets/{by_telegram[0]}/", json={
        "owner_id": my_id, "tags": ["billing"], "status_id": "pending"}, timeout=30)
    assert changed.status_code == 200, changed.text
    assert _queue(admin, api, "mine") == by_telegram
    assert _queue(admin, api, "tag:billing") == by_telegram
    assert _queue(admin, api, "pending") == by_telegram
    assert by_telegram[0] not in _queue(admin, api, "unassigned")
    counts = {row["queue"]: row["count"] for row in admin.get(
        f"{api}/tickets/queues/", timeout=30).json()["data"]}
    assert counts["all"] == 2 and counts["mine"] == 1 and counts["pending"] == 1
    assert counts["open"] == 1 and counts["unassigned"] == 1

    # Followed, marked as spam, moved to the trash: each leaves the other queues.
    followed = admin.put(f"{api}/tickets/{by_mail[0]}/", json={"followers": [my_id]},
                         timeout=30)
    assert followed.status_code == 200, followed.text
    assert _queue(admin, api, "followed") == by_mail
    spam = admin.put(f"{api}/tickets/{by_mail[0]}/", json={"spam": True}, timeout=30)
    assert spam.status_code == 200, spam.text
    assert _queue(admin, api, "spam") == by_mail
    assert by_mail[0] not in _queue(admin, api, "all") + _queue(admin, api, "open")
    assert admin.delete(f"{api}/tickets/{by_telegram[0]}/", timeout=30).status_code == 200
    assert _queue(admin, api, "trash") == by_telegram
    assert _queue(admin, api, "all") == [] and _queue(admin, api, "mine") == []
    admin.put(f"{api}/tickets/{by_mail[0]}/", json={"spam": False}, timeout=30)
    admin.post(f"{api}/tickets/{by_telegram[0]}/restore", timeout=30)
    assert set(_queue(admin, api, "all")) == both

    # An agent of another department sees neither the tickets nor their counts.
    sales = admin.post(f"{api}/departments/", json={"name": {"en": "Sales"}},
                       timeout=30).json()["data"]
    agent = admin.post(f"{api}/users/", json={"name": "Sam", "email": "sam-reads@example.com",
                                              "group_id": 2, "department": [sales["id"]]},
                       timeout=30).json()["data"]
    sam = session("sam-reads@example.com", agent["api_key"])
    for queue in ("all", "open", "pending", "unassigned"):
        assert _queue(sam, api, queue) == [], queue
    sam_counts = sam.get(f"{api}/tickets/queues/", timeout=30).json()["data"]
    assert all(row["count"] == 0 for row in sam_counts)
