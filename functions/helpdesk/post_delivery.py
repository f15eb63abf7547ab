"""Where a new post goes (the `DeliverPost` task of the ticket_event workflow): a staff post
to the customer's channel (mail, or the messenger the ticket came in on), a customer's
messenger post has its media fetched into the bucket; `give_up` records the final failure.

`route_post` decides (pure); `PostDelivery.run` acts on the decision."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from helpdesk.channels.outbound import ChannelOutbound
from helpdesk.mail.outbound import MailOutbound
from helpdesk.models import ActorType, Delivery, Message, Ticket
from helpdesk.stored import EventPosts, StoredTickets


class Route(StrEnum):
    GONE = "gone"  # the post or its ticket is gone
    CUSTOMER = "customer"  # a customer's post: fetch its media, if any
    GIVE_UP = "give_up"  # the workflow stopped retrying: record the failure
    CHANNEL = "channel"  # a staff post on a messenger ticket
    MAIL = "mail"  # a staff post on a mail ticket


def route_post(ticket: Ticket | None, post: Message | None, *, give_up: bool) -> Route:
    if ticket is None or post is None:
        return Route.GONE
    if post.author_type is not ActorType.STAFF:
        return Route.CUSTOMER
    if give_up:
        return Route.GIVE_UP
    return Route.CHANNEL if ticket.channel_id else Route.MAIL


def give_up_reason(error: dict[str, Any] | None) -> str:
    """The workflow's caught error (`{"Error", "Cause"}`) as the reason shown on the post:
    a Lambda error's message only, never its stack trace, and no file paths."""
    error = error or {}
    cause = str(error.get("Cause", ""))
    try:
        raised = json.loads(cause)
    except ValueError:
        raised = None
    if isinstance(raised, dict) and ({"errorMessage", "errorType"} & set(raised)):
        cause = str(raised.get("errorMessage", ""))
    first_line = cause.strip().splitlines()[0] if cause.strip() else ""
    return f"{error.get('Error', 'failed')}: {_PATH.sub('…', first_line)}"[:500]


_PATH = re.compile(r"(?:/[\w.\-]+){2,}")  # /var/task/helpdesk/mail/outbound.py and the like


@dataclass(frozen=True)
class Outcome:
    answer: dict[str, Any]  # the task's answer: a skip with its reason, or the delivery
    post_id: int | None = None
    delivery: Delivery | None = None  # None: skipped


def _skipped(reason: str, **more: Any) -> Outcome:
    return Outcome({"status": "skipped", "reason": reason, **more})


@dataclass
class PostDelivery:
    mail: MailOutbound
    channels: ChannelOutbound
    events: EventPosts  # the tickets service
    stored: StoredTickets

    def run(self, ticket_id: int, version: int, *, give_up: bool = False,
            error: dict[str, Any] | None = None) -> Outcome:
        post_id = self.events.post_of_event(ticket_id, version)
        if post_id is None:
            return _skipped("the event added no post")
        ticket = self.stored.get_ticket(ticket_id)
        post = self.stored.get_message("post", ticket_id, post_id)
        route = route_post(ticket, post, give_up=give_up)
        if route is Route.GONE or post is None:
            return _skipped("the post or its ticket is gone")
        if route is Route.CUSTOMER:
            files = self.channels.fetch_media(ticket_id, post.id) if post.media else []
            return _skipped("a customer's post", media_fetched=len(files))
        if route is Route.GIVE_UP:
            delivery = self.mail.give_up(ticket_id, post.id, give_up_reason(error))
        elif route is Route.CHANNEL:
            delivery = self.channels.deliver(ticket_id, post.id)
        else:
            delivery = self.mail.deliver(ticket_id, post.id)
        return Outcome(delivery.model_dump(mode="json"), post.id, delivery)
