"""One clock for everything `make run` runs: moving it with POST /_local/clock also moves
the workflows' Wait states and Retry backoffs (devstack.sfn_clock), and what they send or
store carries the stack's time, not the host's.

(a) An SLA notice held until the agent's working hours is mailed once the clock passes
    their start, with no real hours waited.
(b) A webhook delivery that failed is retried once the clock passes the backoff; its
    X-Helpdesk-Timestamp, a dead letter's `at` and the circuit breaker are in stack time."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import boto3
import pytest
import requests

from devstack.process import start_stack
from helpdesk.store import keys
from tests.support.live import session, wait_for
from tests.webhooks_out.conftest import Receiver, Reply

ADMIN = ("e2e-clock-admin@example.com", "e2e-clock-admin-key")
RUN = uuid.uuid4().hex[:8]  # the outbox folder outlives a stack: tell this run's mail apart
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack() -> Iterator[dict]:
    # The receivers are on 127.0.0.1, which outbound webhooks refuse unless allow-listed.
    started = start_stack(ADMIN, env={"WEBHOOK_ALLOW_HOSTS": "127.0.0.1"})
    yield {**started.ready, "base": started.base}
    started.stop()


def _ok(answer: requests.Response) -> Any:
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]


def _now(base: str) -> datetime:
    return datetime.fromisoformat(requests.get(f"{base}/_local/clock", timeout=10).json()["now"])


def _advance(base: str, seconds: float) -> datetime:
    moved = requests.post(f"{base}/_local/clock", json={"advance_seconds": seconds}, timeout=10)
    assert moved.status_code == 200, moved.text
    return datetime.fromisoformat(moved.json()["now"])


def _stays(check: Any, seconds: float = 1.5) -> bool:
    """Still true after a while (several of the waits' wake-ups)."""
    return not wait_for(lambda: not check(), seconds)


def _aws(stack: dict, service: str) -> Any:
    return boto3.client(service, endpoint_url=stack["aws_endpoint"], region_name="us-east-1")


def _execution(stack: dict, machine: str, name_prefix: str) -> dict | None:
    client = _aws(stack, "stepfunctions")
    (arn,) = [m["stateMachineArn"] for m in client.list_state_machines()["stateMachines"]
              if machine in m["name"]]
    return next((run for run in client.list_executions(stateMachineArn=arn)["executions"]
                 if run["name"].startswith(name_prefix)), None)


# --- (a) a held SLA notice ----------------------------------------------------------------------
def test_a_notice_held_for_working_hours_goes_when_the_clock_reaches_them(stack):
    api, base = stack["api_url"], stack["base"]
    admin = session(*ADMIN)
    sleeper_email = f"sleeper-{RUN}@example.com"
    sleeper = _ok(admin.post(f"{api}/users/", json={
        "name": "Sleeper", "email": sleeper_email, "group_id": 2, "department": [1]},
        timeout=30))
    _ok(admin.post(f"{api}/calendars/", json={
        "name": "Office hours", "scope": "agent", "agent_id": sleeper["id"], "timezone": "UTC",
        "hours": [{"day": day, "start": "09:00", "end": "17:00"} for day in WEEKDAYS]},
        timeout=30))
    _ok(admin.post(f"{api}/sla_policies/", json={
        "name": "Critical, held", "priority_ids": [4], "first_reply_minutes": 15,
        "business_hours": False,
        "escalation": {"notify": [sleeper["id"]], "hold_until_working_hours": True,
                       "warn_at_percent": None}}, timeout=30))

    # Saturday 01:00 UTC in the stack: the breach comes at night, the agent starts Monday.
    now = _now(base)
    saturday = (now + timedelta(days=(5 - now.weekday()) % 7 or 7)).replace(
        hour=1, minute=0, second=0, microsecond=0)
    _advance(base, (saturday - now).total_seconds())
    ticket = _ok(admin.post(f"{api}/tickets/", json={
        "title": "Night outage", "description": "Down", "user_email": f"c-{RUN}@example.com",
        "priority_id": 4}, timeout=30))
    _advance(base, 16 * 60)
    ran = requests.post(f"{base}/_local/tick", timeout=60).json()["ran"]
    assert ran["SlaSchedulerFunction"]["started"] == 1

    def mailed() -> list[dict]:
        messages = requests.get(f"{base}/_local/outbox", timeout=10).json()["messages"]
        return [m for m in messages if m["to"] == [sleeper_email]]

    def tagged() -> bool:
        current = _ok(admin.get(f"{api}/tickets/{ticket['id']}", timeout=10))
        return "sla_first_reply_breached" in current["tags"]

    assert wait_for(tagged, 60), "the breach was never applied"
    name = f"sla-{ticket['id']}-first_reply-breach"
    assert _stays(lambda: not mailed() and _execution(stack, "SlaEscalation", name)
                  ["status"] == "RUNNING"), "the notice was not held"

    monday = saturday.replace(hour=9) + timedelta(days=2)
    _advance(base, (monday - _now(base)).total_seconds() - 60)  # a minute early
    assert _stays(lambda: not mailed()), "the notice went before working hours"
    _advance(base, 61)
    (mail,) = wait_for(mailed, 10) or [None]
    assert mail, "the held notice never went"
    assert mail["subject"].startswith(f"SLA missed: first reply of {ticket['unique_id']}")
    sent = parsedate_to_datetime(mail["date"])
    assert monday <= sent < monday + timedelta(minutes=5)  # stamped in stack time
    assert wait_for(lambda: _execution(stack, "SlaEscalation", name)["status"] == "SUCCEEDED",
                    10)


# --- (b) webhook retries, timestamps, dead letters, breaker --------------------------------------
@pytest.fixture
def receivers() -> Iterator[dict[str, Receiver]]:
    made = {name: Receiver(secret=f"e2e-clock-{name}-secret-e2e-clock") for name in
            ("flaky", "refusing", "down")}
    made["flaky"].replies = [Reply(503)]
    made["refusing"].replies = [Reply(410)]
    made["down"].replies = [Reply(503)] * 20
    yield made
    for receiver in made.values():
        receiver.close()


def test_webhook_backoff_signing_dead_letters_and_breaker_run_on_stack_time(stack, receivers):
    api, base = stack["api_url"], stack["base"]
    admin = session(*ADMIN)
    _advance(base, 10 * 86400)  # far from the host's time, so the two cannot be confused
    hooks = {name: _ok(admin.post(f"{api}/webhook_subscriptions/", json={
        "url": receiver.url, "event_types": ["created"], "secret": receiver.secret},
        timeout=30))["id"] for name, receiver in receivers.items()}
    _ok(admin.post(f"{api}/tickets/", json={"title": "Webhook test", "description": "x",
                                            "user_email": f"w-{RUN}@example.com"}, timeout=30))

    def seen(name: str, count: int) -> bool:
        return len(receivers[name].requests) >= count

    assert wait_for(lambda: all(seen(name, 1) for name in receivers), 60)

    # A permanent refusal: the dead letter is dated in stack time.
    def letters() -> list[dict]:
        return _ok(admin.get(f"{api}/webhook_subscriptions/{hooks['refusing']}/dead_letters",
                             timeout=10))

    (letter,) = wait_for(letters, 30) or [None]
    assert letter, "no dead letter"
    assert abs(datetime.fromisoformat(letter["at"]) - _now(base)) < timedelta(seconds=30)

    # A 503: retried 30 s later by the stack's clock, not before, signed with its time.
    assert _stays(lambda: len(receivers["flaky"].requests) == 1)
    _advance(base, 31)
    assert wait_for(lambda: seen("flaky", 2), 10), "the retry never came"
    retried = receivers["flaky"].requests[1]
    stamp = datetime.fromtimestamp(int(retried.headers["x-helpdesk-timestamp"]), UTC)
    assert retried.signature_ok
    assert abs(stamp - _now(base)) < timedelta(seconds=30)
    assert abs(stamp - datetime.now(UTC)) > timedelta(days=9)

    # Always 503: five failed attempts (30, 60, 120 s apart...) open the circuit from the
    # stack's now; the next attempt fails fast, and one after the cool-down (in stack time)
    # reaches the receiver again. (Each _stays also lets the failed attempt reach its Retry's
    # wait before the clock moves.)
    assert wait_for(lambda: seen("down", 2), 10)
    for pause, count in ((60, 3), (120, 4), (240, 5)):
        assert _stays(lambda c=count: len(receivers["down"].requests) == c - 1)
        _advance(base, pause + 1)
        assert wait_for(lambda c=count: seen("down", c), 10), f"attempt {count} never came"
    breaker = wait_for(lambda: _breaker(stack, hooks["down"]), 10)
    assert breaker and int(breaker["failures"]["N"]) == 5, breaker
    opened_until = datetime.fromtimestamp(int(breaker["opened_until"]["N"]), UTC)
    assert abs(opened_until - (_now(base) + timedelta(minutes=10))) < timedelta(seconds=30)

    def attempts() -> int:
        return _attempts(stack, hooks["down"])

    assert _stays(lambda: attempts() == 5)
    _advance(base, 481)  # the sixth attempt: the circuit is open, the receiver is spared
    assert wait_for(lambda: attempts() == 6, 10)
    assert _stays(lambda: len(receivers["down"].requests) == 5 and attempts() == 6)
    _advance(base, 961)  # the seventh: after the cool-down, let through again
    assert wait_for(lambda: seen("down", 6), 10), "the breaker kept host time"
    assert attempts() == 7


def _breaker(stack: dict, subscription_id: int) -> dict | None:
    client = _aws(stack, "dynamodb")
    (table,) = client.list_tables()["TableNames"]
    pk, sk = keys.subscription_breaker(subscription_id)
    item = client.get_item(TableName=table, Key={"PK": {"S": pk}, "SK": {"S": sk}}).get("Item")
    return item if item and int(item.get("opened_until", {}).get("N", 0)) else None


def _attempts(stack: dict, subscription_id: int) -> int:
    """Deliver attempts so far of the subscription's delivery (Task states scheduled)."""
    client = _aws(stack, "stepfunctions")
    (arn,) = [m["stateMachineArn"] for m in client.list_state_machines()["stateMachines"]
              if "OutboundWebhook" in m["name"]]
    for run in client.list_executions(stateMachineArn=arn)["executions"]:
        described = client.describe_execution(executionArn=run["executionArn"])
        if json.loads(described["input"])["subscription_id"] == subscription_id:
            events = client.get_execution_history(executionArn=run["executionArn"],
                                                  maxResults=1000)["events"]
            return sum(event["type"] == "TaskScheduled" for event in events)
    return 0
