"""Lambda: automation rules for one ticket event (the ticket_event workflow's first task):
evaluate, apply with a versioned write, and return the effects the workflow fans out.

An exception here fails the task; the workflow catches it and records FAILED on the event."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from helpdesk import automation
from helpdesk.aws.container import per_container
from helpdesk.aws.environment import settings_of
from helpdesk.aws.runtime import helpdesk_from
from helpdesk.notify.mentions import mention_effects
from helpdesk.rules.runner import RuleRunner
from rules.settings import Settings

logger = Logger()


@per_container
def runner() -> RuleRunner:
    helpdesk = helpdesk_from(settings_of(Settings))
    return RuleRunner(helpdesk, mentions=lambda event: mention_effects(helpdesk, event))


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    # Through the module: one seam to replace in tests.
    outcome = automation.evaluate_rules(event, runner())
    logger.info("rules evaluated", extra={"event_id": event.get("event_id"),
                                          "rules_evaluated": outcome["rules_evaluated"],
                                          "rules_fired": outcome["rules_fired"],
                                          "effects": len(outcome["effects"])})
    return outcome
