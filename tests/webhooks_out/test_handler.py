"""The Lambda behind the outbound_webhook workflow, over in-memory storage."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import webhooks_out.handler
from webhooks_out.handler import handle

from devstack.lambda_runtime import LambdaContext
from helpdesk.aws.clock import OffsetClock
from helpdesk.delivery import PermanentFailure, TemporaryFailure
from helpdesk.webhooks_out import MemoryWebhookTargets, WebhookSender, WebhookTarget
from helpdesk.webhooks_out.breaker import closed
from tests.webhooks_out.conftest import SECRET, Receiver, Reply, allow_only

pytestmark = pytest.mark.usefixtures("allow_localhost")


@pytest.fixture
def targets(receiver: Receiver) -> MemoryWebhookTargets:
    return MemoryWebhookTargets({7: WebhookTarget(receiver.url, SECRET)})


def task(**extra: Any) -> dict[str, Any]:
    return {"subscription_id": 7, "delivery_id": "ticket-42-v3-sub-7",
            "event": {"type": "updated", "ticket_id": 42, "changes": {"status_id": "closed"}},
            **extra}


def raised(event: dict[str, Any], targets: MemoryWebhookTargets, now: datetime) -> Exception:
    with pytest.raises((TemporaryFailure, PermanentFailure)) as caught:
        handle(event, targets, now)
    return caught.value


def test_delivers_and_reports(receiver: Receiver, targets: MemoryWebhookTargets,
                              now: datetime):
    outcome = handle(task(), targets, now)
    assert outcome == {"status": "delivered", "subscription_id": 7,
                       "delivery_id": "ticket-42-v3-sub-7", "http_status": 200}
    (request,) = receiver.requests
    assert request.signature_ok and request.headers["x-helpdesk-event"] == "updated"


def test_retries_raise_exactly_temporary_failure_until_it_succeeds(
        receiver: Receiver, targets: MemoryWebhookTargets, now: datetime):
    receiver.replies = [Reply(500), Reply(429)]
    for attempt in range(2):
        error = raised(task(), targets, now + timedelta(seconds=30 * attempt))
        # The workflow's Retry matches the Lambda error type, i.e. this class name.
        assert type(error) is TemporaryFailure
    assert targets.get(7).breaker["failures"] == 2  # saved for the next attempt
    assert handle(task(), targets, now + timedelta(minutes=2))["status"] == "delivered"
    assert targets.get(7).breaker == closed()
    assert {r.headers["x-helpdesk-delivery"] for r in receiver.requests} == {
        "ticket-42-v3-sub-7"}


def test_open_circuit_is_raised_as_temporary_failure(receiver: Receiver,
                                                     targets: MemoryWebhookTargets,
                                                     now: datetime):
    receiver.replies = [Reply(502)] * 5
    for _ in range(5):
        raised(task(), targets, now)
    error = raised(task(), targets, now + timedelta(minutes=1))
    assert type(error) is TemporaryFailure and "circuit open" in str(error)
    assert len(receiver.requests) == 5


def test_permanent_refusals_are_raised_as_permanent_failure(
        monkeypatch: pytest.MonkeyPatch, receiver: Receiver, targets: MemoryWebhookTargets,
        now: datetime):
    receiver.replies = [Reply(410)]
    assert type(raised(task(), targets, now)) is PermanentFailure
    allow_only(monkeypatch, "")
    blocked = raised(task(), targets, now)
    assert type(blocked) is PermanentFailure and "loopback" in str(blocked)


def test_dead_letter_records_the_workflows_error(targets: MemoryWebhookTargets,
                                                 now: datetime):
    cause = json.dumps({"errorMessage": "127.0.0.1 answered HTTP 503",
                        "errorType": "TemporaryFailure", "stackTrace": []})
    outcome = handle(task(dead_letter=True, error={"Error": "TemporaryFailure",
                                                   "Cause": cause}), targets, now)
    assert outcome["status"] == "dead_letter"
    letter = targets.dead_letters["ticket-42-v3-sub-7"]
    assert letter.error == "TemporaryFailure: 127.0.0.1 answered HTTP 503"
    assert letter.subscription_id == 7 and letter.event["ticket_id"] == 42 and letter.at == now
    # A Catch of a non-Lambda error has a plain-text cause.
    handle(task(dead_letter=True, error={"Error": "States.Timeout", "Cause": "took too long"}),
           targets, now)
    assert targets.dead_letters["ticket-42-v3-sub-7"].error == "States.Timeout: took too long"


def test_deleted_or_disabled_subscription_is_skipped(receiver: Receiver, now: datetime):
    targets = MemoryWebhookTargets({8: WebhookTarget(receiver.url, SECRET, enabled=False)})
    assert handle(task(), targets, now)["reason"] == "subscription deleted"
    assert handle(task(subscription_id=8), targets, now)["reason"] == "subscription disabled"
    assert receiver.requests == []


@pytest.mark.parametrize("event", [{}, {"subscription_id": "x", "delivery_id": "d", "event": {}},
                                   {"subscription_id": 7, "delivery_id": "", "event": {}}])
def test_bad_input_is_permanent(targets: MemoryWebhookTargets, now: datetime,
                                event: dict[str, Any]):
    assert type(raised(event, targets, now)) is PermanentFailure


@pytest.fixture
def built(targets: MemoryWebhookTargets) -> Iterator[None]:
    """The Lambda over in-memory storage; what it builds from the environment is forgotten
    afterwards."""
    webhooks_out.handler.targets.use(targets)
    webhooks_out.handler.sender.use(WebhookSender())  # the test's allow-list
    yield
    for factory in (webhooks_out.handler.targets, webhooks_out.handler.sender,
                    webhooks_out.handler.clock):
        factory.cache_clear()


def test_the_lambda_entry_point_uses_what_the_container_built(receiver: Receiver, built: None,
                                                              now: datetime):
    webhooks_out.handler.clock.use(lambda: now)
    outcome = webhooks_out.handler.handler(task(), LambdaContext("webhooks_out"))
    assert outcome["status"] == "delivered"
    (request,) = receiver.requests
    assert request.signature_ok
    assert request.headers["x-helpdesk-timestamp"] == str(int(now.timestamp()))


def test_the_lambda_reads_now_from_the_environments_clock(
        receiver: Receiver, targets: MemoryWebhookTargets, built: None, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch):
    """On the local stack that is the movable clock: the signature's timestamp, the breaker
    and the dead letter's `at` are in the stack's time, not the host's."""
    handler = webhooks_out.handler.handler
    monkeypatch.delenv("HELPDESK_CLOCK_FILE", raising=False)
    handler(task(), LambdaContext("webhooks_out"))
    monkeypatch.setenv("HELPDESK_CLOCK_FILE", str(tmp_path / "clock.json"))
    OffsetClock(tmp_path / "clock.json").set_offset(86400)
    webhooks_out.handler.clock.cache_clear()  # a container of the stack with that clock
    # Open for another hour of real time, over a day ago in the stack's: let through.
    opened = {"failures": 5, "opened_until": int(time.time()) + 3600, "openings": 1}
    targets.targets[7] = replace(targets.targets[7], breaker=opened)
    receiver.replies = [Reply(503)]
    with pytest.raises(TemporaryFailure):
        handler(task(), LambdaContext("webhooks_out"))
    handler(task(dead_letter=True, error={"Error": "TemporaryFailure", "Cause": "x"}),
            LambdaContext("webhooks_out"))

    real, moved = (int(r.headers["x-helpdesk-timestamp"]) for r in receiver.requests)
    assert abs(real - time.time()) < 60
    assert abs(moved - (time.time() + 86400)) < 60
    reopened = targets.targets[7].breaker  # for twice as long, from the stack's now
    assert reopened["openings"] == 2
    assert abs(reopened["opened_until"] - (time.time() + 86400 + 1200)) < 60
    letter = targets.dead_letters[task()["delivery_id"]]
    assert abs(letter.at.timestamp() - (time.time() + 86400)) < 60
