"""Lambda: the tasks of the outbound_webhook workflow (`helpdesk.webhooks_out.task` says
what they are). What it builds once per container (helpdesk.aws.container): the storage
(`targets`, behind the `WebhookTargets` protocol), the `sender` (with the allow-list of the
function's settings) and the `clock`: "now" (the breaker, X-Helpdesk-Timestamp, a dead
letter's `at`) is real time on AWS, the movable clock on the local stack. Tests call `handle`
with `MemoryWebhookTargets`, or substitute the three with `.use(...)`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger

from helpdesk.aws.container import per_container
from helpdesk.webhooks_out import WebhookSender, WebhookTargets
from helpdesk.webhooks_out.task import run_task as handle

logger = Logger()

__all__ = ["clock", "handle", "handler", "sender", "targets"]


@per_container
def targets() -> WebhookTargets:
    # Imported here: the DynamoDB wiring is not needed by tests that call `handle`.
    from helpdesk.aws.environment import settings_of
    from helpdesk.aws.runtime import helpdesk_from
    from helpdesk.subscriptions.targets import StoredWebhookTargets
    from webhooks_out.settings import Settings

    helpdesk = helpdesk_from(settings_of(Settings))
    return StoredWebhookTargets(helpdesk.repository, helpdesk.subscriptions)


@per_container
def sender() -> WebhookSender:
    from helpdesk.aws.environment import SendingSettings, settings_of
    from helpdesk.aws.runtime import allow_list_from

    # Its part of the settings (tests that send without a table read only this).
    return WebhookSender(allow=allow_list_from(settings_of(SendingSettings)))


@per_container
def clock() -> Callable[[], datetime]:
    from helpdesk.aws.environment import CommonSettings, settings_of
    from helpdesk.aws.runtime import clock_from

    return clock_from(settings_of(CommonSettings))


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, targets(), clock()(), sender=sender())
