"""Lambda: every minute (EventBridge; the local scheduler loop in `make run`). Runs the
periodic automation rules once per 30-minute slot (the first tick of a slot claims it; the
others find it taken). The SLA issue adds the due-time index read here every minute."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger

from helpdesk.aws.runtime import helpdesk_from_env
from helpdesk.rules.runner import RuleRunner

logger = Logger()


@cache
def _runner() -> RuleRunner:
    return RuleRunner(helpdesk_from_env())


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    runner = _runner()
    stats = runner.periodic(runner.helpdesk.clock())
    if stats["claimed"]:
        logger.info("periodic rules", extra=stats)
    else:
        # Debug, not info: a line every minute forever would be most of the log bill.
        logger.debug("tick", extra={"time": event.get("time")})
    return {"due": 0, "periodic": stats}
