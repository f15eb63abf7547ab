"""Lambda: every minute (EventBridge; the local scheduler loop in `make run`).

Reads only the SLA checks that are due (the sparse due index, each shard up to now) and
starts one sla_escalation run per check, named after ticket, check and SLA version, so a
check read twice starts one run. Every 30-minute slot it also runs the periodic automation
rules (the first tick of a slot claims it; the others find it taken)."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger

from helpdesk.aws.container import per_container
from helpdesk.aws.environment import settings_of
from helpdesk.aws.runtime import helpdesk_from, stepfunctions
from helpdesk.rules.runner import RuleRunner
from helpdesk.sla.escalation import Check, due_checks
from sla_scheduler.settings import Settings

logger = Logger()


@per_container
def runner() -> RuleRunner:
    return RuleRunner(helpdesk_from(settings_of(Settings)))


def _start(check: Check) -> bool:
    client = stepfunctions()
    try:
        client.start_execution(
            stateMachineArn=settings_of(Settings).sla_escalation_state_machine_arn,
            name=check.name,
            input=json.dumps(check.as_input()))
    except client.exceptions.ExecutionAlreadyExists:
        return False
    return True


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    rules = runner()
    now = rules.helpdesk.clock()
    scan = due_checks(rules.helpdesk.repository, now)
    started = sum(_start(check) for check in scan.checks)
    if scan.checks:
        logger.info("SLA checks due", extra={"due": len(scan.checks), "started": started,
                                             "checks": [c.name for c in scan.checks][:50]})
    stats = rules.periodic(now)
    if stats["claimed"]:
        logger.info("periodic rules", extra=stats)
    elif not scan.checks:
        # Debug, not info: a line every minute forever would be most of the log bill.
        logger.debug("tick", extra={"time": event.get("time")})
    return {"due": len(scan.checks), "items_read": scan.items_read, "started": started,
            "periodic": stats}
