"""Lambda: the first step of the sla_escalation workflow. Applies one due SLA check (warning
or breach: tag, priority, audit entry) and returns the notices the workflow sends, each
with `send_at` when held until working hours.
Input: {"ticket_id", "target", "stage", "sla_version"}."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from pydantic import BaseModel, ConfigDict

from helpdesk.aws.container import per_container
from helpdesk.aws.environment import settings_of
from helpdesk.aws.runtime import helpdesk_from
from helpdesk.sla.escalation import Check, Escalations
from helpdesk.sla.model import Stage, Target
from sla_escalation.settings import Settings

logger = Logger()


class CheckInput(BaseModel):
    model_config = ConfigDict(extra="ignore")

    ticket_id: int
    target: Target
    stage: Stage
    sla_version: int


@per_container
def escalations() -> Escalations:
    return Escalations(helpdesk_from(settings_of(Settings)))


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    given = CheckInput.model_validate(event)
    check = Check(given.ticket_id, given.target, given.stage, given.sla_version)
    outcome = escalations().escalate(check)
    logger.info("SLA check", extra={"check": check.name, "status": outcome.status,
                                    "reason": outcome.reason, "notices": len(outcome.notices)})
    return outcome.as_dict()
