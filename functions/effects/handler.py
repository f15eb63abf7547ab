"""Lambda: one item of the ticket_event workflow's fan-out (a webhook to start, an automatic
mail to the customer, a staff notification). `{"effect": {...}, "ticket_id", "version"}`.
A temporary failure raises TemporaryFailure, which the workflow retries with backoff."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger

from effects.settings import Settings
from helpdesk.aws.container import per_container
from helpdesk.aws.environment import settings_of
from helpdesk.aws.runtime import (
    allow_list_from,
    blobs_from,
    helpdesk_from,
    mailboxes_from,
    ses,
    stepfunctions,
)
from helpdesk.aws.ses import SesSender
from helpdesk.mail.outbound import MailOutbound
from helpdesk.rules.effects import EffectSender

logger = Logger()


def _start_webhook(name: str, task: dict[str, Any]) -> bool:
    client = stepfunctions()
    try:
        client.start_execution(
            stateMachineArn=settings_of(Settings).outbound_webhook_state_machine_arn,
            name=name,
            input=json.dumps(task, ensure_ascii=False))
    except client.exceptions.ExecutionAlreadyExists:
        return False
    return True


@per_container
def sender() -> EffectSender:
    settings = settings_of(Settings)
    helpdesk = helpdesk_from(settings)
    mailboxes = mailboxes_from(settings)

    def customer_mail() -> MailOutbound:
        return MailOutbound(helpdesk, blobs_from(settings), SesSender(ses()), mailboxes,
                            helpdesk.settings.ticket_prefix)

    def notifier() -> Any:
        from helpdesk.notify.sender import StaffNotifier

        return StaffNotifier(helpdesk, SesSender(ses()), from_address=mailboxes.addresses[0],
                             allow=allow_list_from(settings))

    return EffectSender(helpdesk, start_webhook=_start_webhook, customer_mail=customer_mail,
                        notifier=notifier)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    effect = event["effect"]
    result = sender().send(effect, int(event["ticket_id"]), int(event["version"]))
    logger.info("effect sent", extra={"type": effect.get("type"), "key": effect.get("key"),
                                      **result})
    return result
