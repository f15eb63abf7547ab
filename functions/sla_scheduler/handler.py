"""Lambda: every minute (EventBridge; the local scheduler loop in `make run`). The SLA issue
adds the due-time index this reads; today no ticket has an SLA timer, so nothing is due."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

logger = Logger()


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    # Debug, not info: a line every minute forever would be most of the log bill.
    logger.debug("sla tick", extra={"time": event.get("time")})
    return {"due": 0}
