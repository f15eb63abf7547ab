"""Lambda: the tasks of the outbound_webhook workflow.

`{"subscription_id", "delivery_id", "event": {"type", ...}}` makes one delivery attempt of
`event` (the JSON body as is; its `type` is the X-Helpdesk-Event header). A temporary failure
raises TemporaryFailure, which the workflow retries with backoff; a permanent one raises
PermanentFailure, which it does not. `{"dead_letter": true, ..., "error": {Error, Cause}}`
(the workflow's Catch) records the delivery as a dead letter.

Storage comes in through the `WebhookTargets` protocol, so the entry point is built with
`make_handler(<factory of the DynamoDB implementation>)`; tests call `handle` with
`MemoryWebhookTargets`."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from helpdesk.delivery import PermanentFailure, TemporaryFailure
from helpdesk.webhooks_out import (
    DeadLetter,
    WebhookSender,
    WebhookTargets,
    deliver_webhook,
)

logger = Logger()

LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


class _Input(BaseModel):
    model_config = ConfigDict(extra="ignore")

    subscription_id: int
    delivery_id: str = Field(min_length=1, max_length=128)
    event: dict[str, Any]
    dead_letter: bool = False
    error: dict[str, Any] = Field(default_factory=dict)


def handle(event: dict[str, Any], targets: WebhookTargets, now: datetime, *,
           sender: WebhookSender | None = None) -> dict[str, Any]:
    try:
        task = _Input.model_validate(event)
    except ValidationError as exc:
        raise PermanentFailure(f"bad workflow input: {exc.errors()[0]['msg']} at "
                               f"{'.'.join(map(str, exc.errors()[0]['loc']))}") from None
    ids = {"subscription_id": task.subscription_id, "delivery_id": task.delivery_id}
    if task.dead_letter:
        error = _error_text(task.error)
        targets.dead_letter(DeadLetter(task.subscription_id, task.delivery_id, task.event,
                                       error, now))
        logger.warning("webhook dead letter", extra={**ids, "error": error})
        return {"status": "dead_letter", **ids, "error": error}
    target = targets.get(task.subscription_id)
    if target is None or not target.enabled:
        # Deleted or disabled since the event: the admin no longer wants it delivered.
        return {"status": "skipped", **ids,
                "reason": "subscription deleted" if target is None else "subscription disabled"}
    event_type = str(task.event.get("type", ""))
    result = deliver_webhook(target, task.delivery_id, event_type, task.event, now,
                             sender=sender)
    if result.breaker != target.breaker:
        targets.save_breaker(task.subscription_id, result.breaker)
    if result.failure is not None:
        logger.info("webhook not delivered", extra={**ids, "error": str(result.failure),
                                                    "temporary": result.temporary})
        # The workflow's Retry matches the Lambda error type, i.e. the class name: subclasses
        # (CircuitOpen, BlockedDestination) are raised as the two names it knows.
        kind = TemporaryFailure if result.temporary else PermanentFailure
        raise kind(str(result.failure)) from result.failure
    logger.info("webhook delivered", extra={**ids, "http_status": result.http_status})
    return {"status": "delivered", **ids, "http_status": result.http_status}


def make_handler(targets: Callable[[], WebhookTargets]) -> LambdaHandler:
    """The Lambda entry point over a storage factory (called per invocation; cache in it)."""

    @logger.inject_lambda_context
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return handle(event, targets(), datetime.now(UTC))

    return handler


def _error_text(error: dict[str, Any]) -> str:
    """'TemporaryFailure: <message>' from a Catch's {Error, Cause}; Cause is the Lambda's
    JSON error document when the function raised."""
    kind = str(error.get("Error") or "Failed")
    cause = error.get("Cause") or ""
    try:
        message = json.loads(cause).get("errorMessage", cause)
    except (TypeError, ValueError, AttributeError):
        message = cause
    return f"{kind}: {message}"[:1000]


@cache
def _stored_targets() -> WebhookTargets:
    # Imported here: the DynamoDB wiring is not needed by tests that call `handle`.
    from helpdesk.aws.runtime import helpdesk_from_env
    from helpdesk.subscriptions.targets import StoredWebhookTargets

    helpdesk = helpdesk_from_env()
    return StoredWebhookTargets(helpdesk.repository, helpdesk.subscriptions)


handler = make_handler(_stored_targets)
