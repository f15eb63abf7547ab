"""Ingest once: the one way an inbound message (a mail, a messenger update, a chat line, a
call's record) becomes a post.

Each channel describes its message as an `Arrival`: whether an earlier delivery stored it
already, which ticket it joins, and the message with its claims (the keys that only one
delivery may write: the provider's event id, the mail's Message-ID, the conversation's
link to a new ticket). `land` writes it with those claims in the ticket's transaction. When
a concurrent delivery won one of the claims, it looks again: an earlier copy stored it
(a duplicate), or another message of the conversation opened its first ticket meanwhile
(join that one on the next attempt). DynamoDB decides every race: one writer wins a claim.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from helpdesk.errors import Conflict
from helpdesk.inputs import TicketCreate
from helpdesk.models import Message, Ticket
from helpdesk.store.collection import StaleVersion
from helpdesk.tickets import Inbound

ATTEMPTS = 3


@dataclass(frozen=True)
class Earlier:
    """Where an earlier delivery of the same message went."""

    ticket_id: int | None
    post_id: int | None
    direction: str = "inbound"  # "outbound": a message we sent came back (a mail loop)


@dataclass(frozen=True)
class Thread:
    """The ticket a message joins (None: it opens one), why, and what the conversation's
    link named when read (the condition a new ticket's link is written under)."""

    ticket: Ticket | None = None
    matched_by: str = ""
    linked: int | None = None


@dataclass(frozen=True)
class NewTicket:
    fields: TicketCreate
    department_id: int | None = None


@dataclass(frozen=True)
class Landed:
    outcome: str  # created | appended | duplicate
    ticket_id: int | None
    post_id: int | None
    matched_by: str = ""
    earlier: Earlier | None = None


class Arrival(Protocol):
    """One inbound message as its channel knows it."""

    def seen(self) -> Earlier | None:
        """An earlier delivery that stored this message, if any."""
        ...

    def thread(self) -> Thread:
        """The ticket this message joins now."""
        ...

    def inbound(self, ticket_id: int, thread: Thread) -> Inbound:
        """The message for ticket `ticket_id` (a new one when `thread.ticket` is None), with
        every claim that makes it land once."""
        ...

    def new_ticket(self, inbound: Inbound) -> NewTicket:
        """What a ticket this message opens looks like."""
        ...


class InboundTickets(Protocol):
    def add_inbound(self, ticket_id: int, inbound: Inbound,
                    read: Ticket | None = None) -> Message: ...

    def open_with_message(self, fields: TicketCreate, inbound: Inbound,
                          department_id: int | None = None,
                          ticket_id: int | None = None) -> tuple[Ticket, Message]: ...


class TicketIds(Protocol):
    def next_id(self, name: str) -> int: ...


def land(arrival: Arrival, tickets: InboundTickets, ids: TicketIds,
         attempts: int = ATTEMPTS) -> Landed:
    """Writes the message once (see the module); Conflict when every attempt lost a race
    (the sender retries later)."""
    for _ in range(attempts):
        thread = arrival.thread()
        ticket_id = thread.ticket.id if thread.ticket else ids.next_id("ticket")
        inbound = arrival.inbound(ticket_id, thread)
        try:
            if thread.ticket is not None:
                message = tickets.add_inbound(ticket_id, inbound, thread.ticket)
                return Landed("appended", ticket_id, message.id, thread.matched_by)
            new = arrival.new_ticket(inbound)
            ticket, message = tickets.open_with_message(
                new.fields, inbound, department_id=new.department_id, ticket_id=ticket_id)
            return Landed("created", ticket.id, message.id)
        except (StaleVersion, Conflict):
            earlier = arrival.seen()
            if earlier is not None:  # a concurrent copy of this very message won
                return Landed("duplicate", earlier.ticket_id, earlier.post_id,
                              earlier=earlier)
    raise Conflict("the message's conversation is busy; the sender will retry")
