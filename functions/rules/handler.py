"""Lambda: evaluate automation rules for one ticket event (a ticket_event workflow task)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from helpdesk.automation import evaluate_rules

logger = Logger()


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    outcome = evaluate_rules(event)
    logger.info("rules evaluated", extra={"event_id": event.get("event_id"),
                                          "rules_evaluated": outcome["rules_evaluated"]})
    return outcome
