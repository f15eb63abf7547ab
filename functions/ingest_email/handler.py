"""Lambda: inbound mail from the SES receipt rule (raw MIME already stored in the bucket).
The e-mail issue implements parsing and threading; until then this accepts nothing and says
so, and logs what arrived so nothing goes unnoticed."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

logger = Logger()


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    records = event.get("Records") or []
    mails = [(record.get("ses") or {}).get("mail") or {} for record in records]
    logger.warning("e-mail ingest is not implemented yet; nothing accepted",
                   extra={"records": len(records),
                          "messages": [{"message_id": mail.get("messageId"),
                                        "source": mail.get("source")} for mail in mails]})
    return {"accepted": 0, "reason": "email ingest not implemented yet"}
