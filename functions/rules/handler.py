"""Lambda: evaluate automation rules for one ticket event (a ticket_event workflow task).

An exception here fails the task; the workflow catches it and records FAILED on the event."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from helpdesk import automation

logger = Logger()


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    outcome = automation.evaluate_rules(event)  # via the module: one seam to replace in tests
    logger.info("rules evaluated", extra={"event_id": event.get("event_id"),
                                          "rules_evaluated": outcome["rules_evaluated"]})
    return outcome
