"""Lambda: the `DeliverPost` task of the ticket_event workflow, for a new post.

A staff post goes to the customer's channel (mail through SES, messengers through their
APIs); a customer's messenger post gets its media fetched into the bucket. Input is the
workflow's (the event's ticket id and version). A temporary provider failure raises
TemporaryFailure, which the workflow retries with backoff; `{"give_up": true}` records the
final failure on the post."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger

from helpdesk.aws.runtime import blobs_from_env, helpdesk_from_env, mailboxes_from_env, ses
from helpdesk.aws.ses import SesSender
from helpdesk.channels.outbound import ChannelOutbound
from helpdesk.mail.outbound import MailOutbound
from helpdesk.models import ActorType

logger = Logger()


@cache
def _outbound() -> tuple[MailOutbound, ChannelOutbound]:
    helpdesk = helpdesk_from_env()
    blobs = blobs_from_env()
    return (MailOutbound(helpdesk, blobs, SesSender(ses()), mailboxes_from_env(),
                         helpdesk.settings.ticket_prefix),
            ChannelOutbound(helpdesk, blobs))


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    mail, channels = _outbound()
    helpdesk = mail.helpdesk
    ticket_id = int(event["ticket_id"])
    post_id = helpdesk.tickets.post_of_event(ticket_id, int(event["version"]))
    if post_id is None:
        return {"status": "skipped", "reason": "the event added no post"}
    ticket = helpdesk.repository.get_ticket(ticket_id)
    post = helpdesk.repository.get_message("post", ticket_id, post_id)
    if ticket is None or post is None:
        return {"status": "skipped", "reason": "the post or its ticket is gone"}
    if post.author_type is not ActorType.STAFF:
        files = channels.fetch_media(ticket_id, post.id) if post.media else []
        return {"status": "skipped", "reason": "a customer's post", "media_fetched": len(files)}
    if event.get("give_up"):
        error = event.get("delivery_error") or {}
        reason = f"{error.get('Error', 'failed')}: {error.get('Cause', '')}"[:500]
        delivery = mail.give_up(ticket_id, post.id, reason)
    elif ticket.channel_id:
        delivery = channels.deliver(ticket_id, post.id)
    else:
        delivery = mail.deliver(ticket_id, post.id)
    logger.info("delivery", extra={"ticket_id": ticket_id, "post_id": post.id,
                                   "status": delivery.status})
    return delivery.model_dump(mode="json")
