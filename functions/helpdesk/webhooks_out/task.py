"""One task of the outbound_webhook workflow, whatever runs it: a delivery attempt, or the
dead letter recorded when the attempts are over.

`{"subscription_id", "delivery_id", "event": {"type", ...}}` makes one delivery attempt of
`event` (the JSON body as is; its `type` is the X-Helpdesk-Event header). A temporary failure
raises TemporaryFailure, which the workflow retries with backoff; a permanent one raises
PermanentFailure, which it does not. `{"dead_letter": true, ..., "error": {Error, Cause}}`
(the workflow's Catch) records the delivery as a dead letter."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from helpdesk.delivery import PermanentFailure, TemporaryFailure
from helpdesk.errors import where_and_why
from helpdesk.webhooks_out.deliver import deliver_webhook
from helpdesk.webhooks_out.sender import WebhookSender
from helpdesk.webhooks_out.targets import DeadLetter, WebhookTargets

logger = logging.getLogger(__name__)


class _Input(BaseModel):
    model_config = ConfigDict(extra="ignore")

    subscription_id: int
    delivery_id: str = Field(min_length=1, max_length=128)
    event: dict[str, Any]
    dead_letter: bool = False
    error: dict[str, Any] = Field(default_factory=dict)


def run_task(event: dict[str, Any], targets: WebhookTargets, now: datetime, *,
           sender: WebhookSender | None = None) -> dict[str, Any]:
    try:
        task = _Input.model_validate(event)
    except ValidationError as exc:
        where, why = where_and_why(exc)
        raise PermanentFailure(f"bad workflow input: {why} at {where}") from None
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
