"""Lambda: provider webhooks at /webhooks/{type}/{channel_id}. Channels arrive with the
messenger issue; until then no channel exists, and every webhook is answered as such."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger

logger = Logger()


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    path = event.get("path") or "/webhooks"
    logger.info("webhook for an unknown channel", extra={"path": path})
    body = {"errors": [{"code": "channel_not_found", "title": "Unknown channel",
                        "details": f"no channel is configured at {path}"}]}
    return {"statusCode": 404,
            "headers": {"Content-Type": "application/json; charset=utf-8"},
            "body": json.dumps(body)}
