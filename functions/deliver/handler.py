"""Lambda: deliver a staff post to the customer's channel (a ticket_event workflow task).

Input is the workflow's: the event item's key. Output says what happened; a temporary
provider failure raises TemporaryFailure, which the workflow retries with backoff, and
`{"give_up": true}` records the final failure on the post."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger

from helpdesk.aws.runtime import blobs_from_env, helpdesk_from_env, mailboxes_from_env, ses
from helpdesk.aws.ses import SesSender
from helpdesk.mail.outbound import MailOutbound

logger = Logger()


@cache
def _outbound() -> MailOutbound:
    helpdesk = helpdesk_from_env()
    return MailOutbound(helpdesk, blobs_from_env(), SesSender(ses()),
                        mailboxes_from_env(),
                        helpdesk.settings.ticket_prefix)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    outbound = _outbound()
    post_id = outbound.helpdesk.tickets.post_of_event(int(event["ticket_id"]),
                                                      int(event["version"]))
    if post_id is None:
        return {"status": "skipped", "reason": "the event added no post"}
    ticket_id = int(event["ticket_id"])
    if event.get("give_up"):
        error = event.get("delivery_error") or {}
        reason = f"{error.get('Error', 'failed')}: {error.get('Cause', '')}"[:500]
        delivery = outbound.give_up(ticket_id, post_id, reason)
    else:
        delivery = outbound.deliver(ticket_id, post_id)
    logger.info("delivery", extra={"ticket_id": ticket_id, "post_id": post_id,
                                   "status": delivery.status})
    return delivery.model_dump(mode="json")
