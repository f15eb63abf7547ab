"""Messenger figures: AWS calls per inbound Telegram update (through the real webhooks_in
handler on moto) and webhooks handled per second over HTTP by the running local stack."""

from __future__ import annotations

import copy
import json
import os
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import requests

BENCH_ADMIN = ("bench-admin@example.com", "bench-admin-key")
PAYLOADS = Path(__file__).resolve().parents[1] / "tests" / "channels" / "payloads"
BOT_TOKEN = "123456:bench-bot-token"
SECRET = "bench-telegram-webhook-secret"
CHATS = 10


def _payload(name: str) -> dict[str, Any]:
    return json.loads((PAYLOADS / f"{name}.json").read_text(encoding="utf-8"))


def telegram_update(number: int, chat: int, text: str | None = None) -> dict[str, Any]:
    """A distinct Telegram text update (`number` makes update_id and message_id unique) from
    the private chat `chat`."""
    update = _payload("telegram_text")
    message = update["message"]
    update["update_id"] = 900_000_000 + number
    message["message_id"] = 10_000 + number
    message["from"] = {**message["from"], "id": chat, "username": f"client{chat}",
                       "first_name": f"Client {chat}"}
    message["chat"] = {**message["chat"], "id": chat, "username": f"client{chat}",
                       "first_name": f"Client {chat}"}
    message["text"] = text or f"Сообщение {number}: принтер не печатает"
    return update


def _event(channel_id: int, update: dict[str, Any], secret: str = SECRET) -> dict[str, Any]:
    return {"httpMethod": "POST", "path": f"/webhooks/telegram/{channel_id}",
            "resource": "/webhooks/{proxy+}",
            "headers": {"Content-Type": "application/json",
                        "X-Telegram-Bot-Api-Secret-Token": secret},
            "body": json.dumps(update, ensure_ascii=False), "isBase64Encoded": False}


def calls_per_update() -> list[tuple[str, int, Counter[str]]]:
    """Each kind of Telegram update through `webhooks_in.handler` with an API Gateway proxy
    event, counting every DynamoDB and SSM request it makes (the channel's secrets are read
    from SSM on every webhook). Rows: label, HTTP status answered, calls by name."""
    import boto3
    from moto import mock_aws

    from tests.support.template import table_create_args

    calls: Counter[str] = Counter()
    saved = {name: os.environ.get(name) for name in (
        "TABLE_NAME", "BUCKET_NAME", "SECRETS_PREFIX", "LOG_LEVEL", "AWS_ENDPOINT_URL",
        "WEBHOOK_ALLOW_HOSTS")}
    with mock_aws():
        os.environ.update(TABLE_NAME="bench-channels", BUCKET_NAME="bench-channels",
                          SECRETS_PREFIX="bench-channels", LOG_LEVEL="WARNING",
                          WEBHOOK_ALLOW_HOSTS="127.0.0.1")  # the channel's dead-end API
        os.environ.pop("AWS_ENDPOINT_URL", None)
        boto3.setup_default_session(region_name="us-east-1")
        session = boto3.DEFAULT_SESSION
        assert session is not None
        for service in ("dynamodb", "ssm"):
            session.events.register(
                f"before-call.{service}",
                lambda model, _service=service, **_: calls.update([f"{_service}:{model.name}"]))
        session.client("dynamodb").create_table(**table_create_args("bench-channels"))
        from api.settings import Settings as ApiSettings
        from helpdesk.aws import clients, runtime
        from helpdesk.aws.environment import settings_of
        from helpdesk.channels.model import ChannelCreate
        from webhooks_in import handler as webhooks_in

        clients.client.cache_clear()
        webhooks_in.helpdesk.cache_clear()
        setup = runtime.helpdesk_from(settings_of(ApiSettings))  # the channel as the API saves it
        setup.bootstrap(*BENCH_ADMIN)
        admin = setup.users.authenticate(*BENCH_ADMIN)
        channel, _ = setup.channels.create(admin, ChannelCreate.model_validate({
            "type": "telegram", "name": "Bench bot",
            "secrets": {"token": BOT_TOKEN, "webhook_secret": SECRET},
            "options": {"api_base_url": "http://127.0.0.1:9"}}))  # never called inbound
        results: list[tuple[str, int, Counter[str]]] = []

        def receive(label: str, update: dict[str, Any], secret: str = SECRET) -> None:
            calls.clear()
            answer = webhooks_in.handler(_event(channel.id, update, secret), None)
            results.append((label, int(answer["statusCode"]), Counter(calls)))

        first = telegram_update(1, chat=555_000_001)
        receive("first message, new customer", first)
        receive("next message, same conversation",
                telegram_update(2, chat=555_000_001, text="И сканер тоже"))
        receive("the same update again (replay)", first)
        edited = copy.deepcopy(first)
        edited["update_id"] = 900_000_000 + 3
        edited["edited_message"] = {**edited.pop("message"), "edit_date": 1764234100,
                                    "text": "Принтер не печатает, ошибка E05"}
        receive("an edit of the first message", edited)
        receive("forged secret (refused)", telegram_update(4, chat=555_000_001), "guess")
        clients.client.cache_clear()
        webhooks_in.helpdesk.cache_clear()
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    return results


def webhook_throughput(count: int = 100, threads: int = 4) -> dict[str, Any]:
    """Telegram updates per second POSTed over HTTP to the local stack's gateway, each
    answered only after its ticket/post is stored (the workflow each one starts runs in the
    background of the same process). Sequential with one keep-alive session, then with
    `threads` client threads (one session each); fresh updates and chats for each run."""
    from devstack.process import start_stack
    from tests.fakes.providers import FakeProviders

    started_at = time.monotonic()
    # The fake provider listens on 127.0.0.1, which channels reach only when allow-listed.
    stack = start_stack(BENCH_ADMIN, env={"WEBHOOK_ALLOW_HOSTS": "127.0.0.1"})
    start_up = time.monotonic() - started_at
    try:
        with FakeProviders() as fake:
            admin = requests.Session()
            admin.auth = BENCH_ADMIN
            api = stack.ready["api_url"]
            created = admin.post(f"{api}/channels/", json={
                "type": "telegram", "name": "Bench bot",
                "secrets": {"token": BOT_TOKEN, "webhook_secret": SECRET},
                "options": {"api_base_url": fake.url}}, timeout=30)
            created.raise_for_status()
            webhook = stack.base + created.json()["data"]["webhook_path"]
            headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}

            def updates(run: int) -> list[dict[str, Any]]:
                return [telegram_update(run * 10_000 + n, chat=777_000_000 + run * 100 + n % CHATS)
                        for n in range(count)]

            def post_all(batch: list[dict[str, Any]], statuses: Counter[int]) -> None:
                session = requests.Session()
                for update in batch:
                    answer = session.post(webhook, json=update, headers=headers, timeout=60)
                    statuses[answer.status_code] += 1

            sequential_statuses: Counter[int] = Counter()
            batch = updates(1)
            began = time.monotonic()
            post_all(batch, sequential_statuses)
            sequential = count / (time.monotonic() - began)

            parallel_statuses: list[Counter[int]] = [Counter() for _ in range(threads)]
            batch = updates(2)
            workers = [threading.Thread(target=post_all,
                                        args=(batch[i::threads], parallel_statuses[i]))
                       for i in range(threads)]
            began = time.monotonic()
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
            parallel = count / (time.monotonic() - began)

            listed = admin.get(f"{api}/tickets/", params={"per_page": 100}, timeout=30).json()
            return {"start_up": start_up, "sequential": sequential, "parallel": parallel,
                    "sequential_statuses": dict(sequential_statuses),
                    "parallel_statuses": dict(sum(parallel_statuses, Counter())),
                    "tickets": listed["pagination"]["total"]}
    finally:
        stack.stop()


def report() -> None:
    print("\nAWS calls per inbound Telegram update (webhooks_in.handler on moto; the "
          "channel's secrets come from SSM):")
    for label, status, counts in calls_per_update():
        detail = ", ".join(f"{name} {n}" for name, n in sorted(counts.items()))
        print(f"  {label:<36} {sum(counts.values()):>3}  HTTP {status}  ({detail})")
    count, threads = 100, 4
    figures = webhook_throughput(count, threads)
    print(f"\nLocal stack: up in {figures['start_up']:.1f} s; Telegram webhooks over HTTP, "
          f"{count} distinct updates from {CHATS} chats, each stored before the 200:")
    print(f"  {'sequential, one keep-alive session':<36} {figures['sequential']:6.1f} /s  "
          f"(statuses {figures['sequential_statuses']})")
    print(f"  {f'{threads} client threads':<36} {figures['parallel']:6.1f} /s  "
          f"(statuses {figures['parallel_statuses']})")
    print(f"  tickets in the stack afterwards: {figures['tickets']} "
          f"(expected {2 * CHATS}: one per chat)")
