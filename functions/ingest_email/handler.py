"""Lambda: inbound mail from the SES receipt rule. The e-mail issue implements parsing and
threading; until then this acknowledges nothing and says so."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

logger = Logger()


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    records = event.get("Records") or []
    logger.warning("e-mail ingest is not implemented yet", extra={"records": len(records)})
    return {"accepted": 0, "reason": "email ingest not implemented yet"}
