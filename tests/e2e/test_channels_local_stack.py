"""A Telegram conversation through `make run` (a subprocess on free ports) over real HTTP:
the provider posts its webhook to the local gateway, the staff answers over the API, and the
answer reaches a fake Telegram Bot API on 127.0.0.1 through the ticket_event workflow."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from devstack.process import start_stack
from tests.fakes.providers import FakeProviders
from tests.support.live import session, wait_for

ADMIN = ("e2e-channels-admin@example.com", "e2e-channels-admin-key")
PAYLOADS = Path(__file__).resolve().parents[1] / "channels" / "payloads"
BOT_TOKEN = "123456:e2e-bot-token"
SECRET = "e2e-telegram-webhook-secret"
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack() -> Iterator[dict]:
    # The fake Telegram is on 127.0.0.1, which channels reach only when allow-listed.
    started = start_stack(ADMIN, env={"WEBHOOK_ALLOW_HOSTS": "127.0.0.1"})
    yield {**started.ready, "process": started.process, "base": started.base,
           "output": started.output}
    started.stop()


@pytest.fixture(scope="module")
def telegram_api() -> Iterator[FakeProviders]:
    with FakeProviders() as fake:
        yield fake




def _payload(name: str) -> dict:
    return json.loads((PAYLOADS / f"{name}.json").read_text(encoding="utf-8"))


def _telegram_tickets(admin: requests.Session, api: str) -> list[dict]:
    listed = admin.get(f"{api}/tickets/", params={"per_page": 100}, timeout=30)
    assert listed.status_code == 200, listed.text
    return [t for t in listed.json()["data"].values() if t["source"] == "telegram"]


def test_telegram_conversation_over_http(stack, telegram_api):
    api, base = stack["api_url"], stack["base"]
    admin = session(*ADMIN)
    created = admin.post(f"{api}/channels/", json={
        "type": "telegram", "name": "Support bot",
        "secrets": {"token": BOT_TOKEN, "webhook_secret": SECRET},
        "options": {"api_base_url": telegram_api.url}}, timeout=30)
    assert created.status_code == 200, created.text
    channel = created.json()["data"]
    assert channel["webhook_path"] == f"/webhooks/telegram/{channel['id']}"
    assert channel["webhook_url"].endswith(channel["webhook_path"])
    assert SECRET not in created.text and BOT_TOKEN not in created.text

    provider = requests.Session()  # Telegram's side: no API credentials, just the header
    webhook = f"{base}{channel['webhook_path']}"
    update = _payload("telegram_text")
    chat_id = update["message"]["chat"]["id"]
    signed = {"X-Telegram-Bot-Api-Secret-Token": SECRET}

    answer = provider.post(webhook, json=update, headers=signed, timeout=30)
    assert answer.status_code == 200, answer.text
    (ticket,) = _telegram_tickets(admin, api)
    assert ticket["title"] == update["message"]["text"]

    def posts() -> list[dict]:
        return admin.get(f"{api}/tickets/{ticket['id']}/posts/", timeout=30).json()["data"]

    assert [p["text"] for p in posts()] == [update["message"]["text"]]

    # Telegram redelivers an update until it gets a 200: each replay is acknowledged and
    # stores nothing new.
    for _ in range(10):
        replay = provider.post(webhook, json=update, headers=signed, timeout=30)
        assert replay.status_code == 200, replay.text
    assert len(_telegram_tickets(admin, api)) == 1
    assert len(posts()) == 1

    # Someone who does not hold the channel's secret is refused before anything is stored.
    forged_update = copy.deepcopy(update)
    forged_update["update_id"] += 1000
    forged_update["message"]["message_id"] += 1000
    forged_update["message"]["text"] = "forged"
    forged = provider.post(webhook, json=forged_update,
                           headers={"X-Telegram-Bot-Api-Secret-Token": "guess"}, timeout=30)
    assert forged.status_code == 403, forged.text
    assert forged.json()["errors"][0]["details"]
    assert len(_telegram_tickets(admin, api)) == 1
    assert [p["text"] for p in posts()] == [update["message"]["text"]]

    # The staff answers over the API; the workflow sends it through the Bot API.
    reply_text = "Здравствуйте! Перезагрузите принтер, пожалуйста."
    reply = admin.post(f"{api}/tickets/{ticket['id']}/posts/", json={"text": reply_text},
                       timeout=30)
    assert reply.status_code == 200, reply.text
    reply_post = reply.json()["data"]
    assert reply_post["delivery"]["status"] == "queued"
    send_path = f"/bot{BOT_TOKEN}/sendMessage"

    def sent() -> list:
        return [r for r in telegram_api.requests_to(send_path) if r.status == 200]

    delivered = wait_for(sent)
    assert delivered, (f"the reply never reached the fake Telegram; it got "
                       f"{[(r.method, r.path) for r in telegram_api.requests]}")
    (message,) = delivered
    assert str(message.json["chat_id"]) == str(chat_id)
    assert message.json["text"] == reply_text

    def delivery_status() -> str | None:
        found = next(p for p in posts() if p["id"] == reply_post["id"])
        status = found["delivery"]["status"]
        return status if status != "queued" else None

    assert wait_for(delivery_status) == "sent"
    assert len(sent()) == 1  # sent once, not once per retry or per replayed update
    assert [p["text"] for p in posts()] == [update["message"]["text"], reply_text]


def test_no_scan_ran(stack):
    calls = requests.get(f"{stack['base']}/_local/aws-calls", timeout=10).json()["dynamodb"]
    assert calls.get("Scan", 0) == 0


def test_the_stack_log_keeps_being_read(stack):
    """Left unread, the stack's stdout pipe fills after some sixty webhooks and every
    request then hangs on a log write; start_stack keeps reading it."""
    assert wait_for(lambda: any('"channel event"' in line for line in list(stack["output"])),
                     seconds=10)
