"""Lambda: the tasks of the outbound_webhook workflow (`helpdesk.webhooks_out.task` says
what they are). Storage comes in through the `WebhookTargets` protocol, so the entry point is
built with `make_handler(<factory of the DynamoDB implementation>)`; tests call `handle`
with `MemoryWebhookTargets`. "Now" (the breaker, X-Helpdesk-Timestamp, a dead letter's `at`)
comes from the environment's clock: real time on AWS, the movable clock on the local stack."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger

from helpdesk.webhooks_out import WebhookTargets
from helpdesk.webhooks_out.task import run_task as handle

logger = Logger()

LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]
__all__ = ["handle", "handler", "make_handler"]


def make_handler(targets: Callable[[], WebhookTargets],
                 clock: Callable[[], datetime] | None = None) -> LambdaHandler:
    """The Lambda entry point over a storage factory (called per invocation; cache in it)
    and a clock (default: `clock_from_env()`, read per invocation)."""

    @logger.inject_lambda_context
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return handle(event, targets(), (clock or _clock_from_env())())

    return handler


def _clock_from_env() -> Callable[[], datetime]:
    # Imported here, like the storage: tests that pass a clock need no AWS wiring.
    from helpdesk.aws.runtime import clock_from_env

    return clock_from_env()


@cache
def _stored_targets() -> WebhookTargets:
    # Imported here: the DynamoDB wiring is not needed by tests that call `handle`.
    from helpdesk.aws.runtime import helpdesk_from_env
    from helpdesk.subscriptions.targets import StoredWebhookTargets

    helpdesk = helpdesk_from_env()
    return StoredWebhookTargets(helpdesk.repository, helpdesk.subscriptions)


handler = make_handler(_stored_targets)
