"""Lambda: the `DeliverPost` task of the ticket_event workflow, for a new post (where it goes
is `helpdesk.post_delivery`). Input is the workflow's (the event's ticket id and version). A
temporary provider failure raises TemporaryFailure, which the workflow retries with backoff;
`{"give_up": true}` records the final failure on the post."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from deliver.settings import Settings
from helpdesk.aws.container import per_container
from helpdesk.aws.environment import settings_of
from helpdesk.aws.runtime import blobs_from, helpdesk_from, mailboxes_from, ses
from helpdesk.aws.ses import SesSender
from helpdesk.channels.outbound import ChannelOutbound
from helpdesk.mail.outbound import MailOutbound
from helpdesk.post_delivery import PostDelivery

logger = Logger()


@per_container
def delivery() -> PostDelivery:
    settings = settings_of(Settings)
    helpdesk = helpdesk_from(settings)
    blobs = blobs_from(settings)
    return PostDelivery(MailOutbound(helpdesk, blobs, SesSender(ses()), mailboxes_from(settings),
                                     helpdesk.settings.ticket_prefix),
                        ChannelOutbound(helpdesk, blobs), helpdesk.tickets,
                        helpdesk.repository.tickets)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    ticket_id = int(event["ticket_id"])
    outcome = delivery().run(ticket_id, int(event["version"]),
                             give_up=bool(event.get("give_up")),
                             error=event.get("delivery_error"))
    if outcome.delivery is not None:
        logger.info("delivery", extra={"ticket_id": ticket_id, "post_id": outcome.post_id,
                                       "status": outcome.delivery.status})
    return outcome.answer
