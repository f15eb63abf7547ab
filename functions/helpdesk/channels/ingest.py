"""Normalized channel events -> tickets. Idempotent on the provider's event id (a unique item
written with the post), one customer per person across channels (contact items), one open
ticket per conversation (a conversation item written with the ticket)."""

from __future__ import annotations

import builtins
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from helpdesk.arrival import Earlier, InboundTickets, NewTicket, Thread, TicketIds, land
from helpdesk.changes import Claim, ConversationLink, Done, ProviderMessageLink
from helpdesk.channels.events import (
    ChannelEvent,
    ChannelMessage,
    Ignored,
    MessageDeleted,
    MessageEdited,
    StatusUpdate,
)
from helpdesk.channels.model import Channel
from helpdesk.inputs import TicketCreate
from helpdesk.models import MediaRef, Message, User
from helpdesk.phones import to_e164
from helpdesk.store.markers import CHANNEL_EVENT, Markers
from helpdesk.store.table import Item
from helpdesk.stored import StoredPeople, StoredRecords, StoredTickets
from helpdesk.tickets import Inbound

TITLE_LENGTH = 80


@dataclass(frozen=True)
class ChannelOutcome:
    event_id: str
    outcome: str  # created | appended | duplicate | edited | deleted | status | ignored | unknown
    ticket_id: int | None = None
    post_id: int | None = None
    details: str = ""


# What the ingest asks of its collaborators, and nothing more.
class ChannelTickets(InboundTickets, Protocol):
    def is_closed(self, status_id: str) -> bool: ...

    def record_author_change(self, ticket_id: int, post_id: int, author: User, *,
                             new_text: str | None,
                             claims: builtins.list[Claim]) -> Message | None: ...


class Customers(Protocol):
    def find_or_create_by_contacts(self, contacts: builtins.list[tuple[str, str]], name: str,
                                   phone: str = "") -> User: ...


class ChannelLinks(Protocol):
    def conversation(self, channel_id: int, chat: str) -> Item | None: ...

    def channel_message(self, channel_id: int, provider_message_id: str) -> Item | None: ...


class IngestDesk(Protocol):
    """Where `ChannelIngest.of` finds its collaborators (the `Helpdesk`, narrowed)."""

    @property
    def tickets(self) -> ChannelTickets: ...

    @property
    def users(self) -> Customers: ...

    @property
    def links(self) -> ChannelLinks: ...

    @property
    def repository(self) -> StoredRecords: ...

    @property
    def markers(self) -> Markers: ...

    def clock(self) -> datetime: ...


@dataclass(frozen=True)
class ChannelIngest:
    tickets: ChannelTickets
    customers: Customers
    links: ChannelLinks
    stored: StoredTickets
    people: StoredPeople
    ids: TicketIds
    markers: Markers
    clock: Callable[[], datetime]

    @classmethod
    def of(cls, helpdesk: IngestDesk) -> ChannelIngest:
        repository = helpdesk.repository
        return cls(helpdesk.tickets, helpdesk.users, helpdesk.links, repository.tickets,
                   repository.people, repository.ids, helpdesk.markers, helpdesk.clock)

    def receive(self, channel: Channel, events: tuple[ChannelEvent, ...],
                custom_fields: dict[str, Any] | None = None) -> list[ChannelOutcome]:
        """`custom_fields` go onto a ticket the events open (site forms)."""
        return [self._one(channel, event, custom_fields or {}) for event in events]

    def _one(self, channel: Channel, event: ChannelEvent,
             custom_fields: dict[str, Any]) -> ChannelOutcome:
        if isinstance(event, Ignored):
            return ChannelOutcome(event.event_id, "ignored", details=event.reason)
        earlier = self.seen(channel, event.event_id)
        if earlier is not None:
            return ChannelOutcome(event.event_id, "duplicate", earlier.ticket_id,
                                  earlier.post_id, "already handled")
        if isinstance(event, ChannelMessage):
            return self._message(channel, event, custom_fields)
        if isinstance(event, StatusUpdate):
            return self._status(channel, event)
        return self._author_change(channel, event)

    # --- a customer's message -----------------------------------------------------------
    def _message(self, channel: Channel, event: ChannelMessage,
                 custom_fields: dict[str, Any]) -> ChannelOutcome:
        arrival = _ChannelArrival(self, channel, event, self._customer(channel, event),
                                  custom_fields)
        landed = land(arrival, self.tickets, self.ids)
        details = "handled concurrently" if landed.outcome == "duplicate" else ""
        return ChannelOutcome(event.event_id, landed.outcome, landed.ticket_id,
                              landed.post_id, details)

    def _customer(self, channel: Channel, event: ChannelMessage) -> User:
        sender = event.sender
        phone = to_e164(sender.phone) if sender.phone else None
        contacts = [(channel.type, f"{channel.id}:{sender.external_id}")]
        if phone:
            contacts.append(("phone", phone))
        if sender.email:
            contacts.append(("email", sender.email.lower()))
        name = sender.name or sender.username or f"{channel.type} {sender.external_id}"
        return self.customers.find_or_create_by_contacts(contacts, name, phone or "")

    def seen(self, channel: Channel, event_id: str) -> Earlier | None:
        done = self.markers.get(CHANNEL_EVENT, (channel.id, event_id))
        return None if done is None else Earlier(done.get("ticket_id"), done.get("post_id"))

    def thread(self, channel: Channel, conversation: str) -> Thread:
        """The conversation's ticket, unless it is gone or closed for longer than the
        channel's reopen window (then the next message starts a new one); and the ticket id
        the conversation's link named when read (None: no link yet)."""
        link = self.links.conversation(channel.id, conversation)
        if link is None:
            return Thread()
        linked = int(link["ticket_id"])
        ticket = self.stored.get_ticket(linked)
        if ticket is None or ticket.trashed:
            return Thread(linked=linked)
        closed = self.tickets.is_closed(ticket.status_id)
        window = timedelta(days=channel.options.reopen_days)
        if closed and self.clock() - ticket.date_updated > window:
            return Thread(linked=linked)
        return Thread(ticket, "conversation", linked)

    def inbound(self, channel: Channel, event: ChannelMessage, customer: User,
                ticket_id: int, thread: Thread) -> Inbound:
        message_id = self.ids.next_id("message")
        link = {"ticket_id": ticket_id, "post_id": message_id}
        claims: list[Claim] = [Done(CHANNEL_EVENT, (channel.id, event.event_id), link)]
        if event.provider_message_id:
            claims.append(ProviderMessageLink(channel.id, event.provider_message_id,
                                              message_id))
        if thread.ticket is None:  # the conversation leads to the ticket it opens
            claims.append(ConversationLink(channel.id, event.conversation, thread.linked))
        text = event.text or ("" if event.media else "(empty message)")
        return Inbound(
            author=customer, text=text, message_id=message_id, claims=claims,
            channel_id=channel.id, conversation=event.conversation,
            media=[MediaRef(kind=m.kind, file_ref=m.file_ref, name=m.name,
                            content_type=m.content_type, size=m.size) for m in event.media],
            provider_message_id=event.provider_message_id or None,
            context={"channel": channel.type, "channel_id": channel.id},
        )

    # --- edits, deletions, delivery news ----------------------------------------------------
    def _author_change(self, channel: Channel,
                       event: MessageEdited | MessageDeleted) -> ChannelOutcome:
        link = self.links.channel_message(channel.id, event.provider_message_id)
        if link is None or link.get("direction") != "inbound":
            return ChannelOutcome(event.event_id, "unknown",
                                  details="the message is not one we received")
        ticket_id, post_id = int(link["ticket_id"]), int(link["post_id"])
        ticket = self.stored.get_ticket(ticket_id)
        author = self.people.get_user(ticket.user_id) if (
            ticket and ticket.user_id) else None
        if ticket is None or author is None:
            return ChannelOutcome(event.event_id, "unknown", details="its ticket is gone")
        done = Done(CHANNEL_EVENT, (channel.id, event.event_id),
                    {"ticket_id": ticket_id, "post_id": post_id})
        edited = isinstance(event, MessageEdited)
        self.tickets.record_author_change(
            ticket_id, post_id, author,
            new_text=event.text if isinstance(event, MessageEdited) else None, claims=[done])
        return ChannelOutcome(event.event_id, "edited" if edited else "deleted", ticket_id,
                              post_id)

    def _status(self, channel: Channel, event: StatusUpdate) -> ChannelOutcome:
        """Delivery news on one of our posts: shown on the post, no ticket event (it is not
        a change of the ticket). Statuses only move forward: a late `delivered` after
        `read` is ignored."""
        link = self.links.channel_message(channel.id, event.provider_message_id)
        if link is None or link.get("direction") != "outbound":
            return ChannelOutcome(event.event_id, "unknown",
                                  details="not a message we sent")
        ticket_id, post_id = int(link["ticket_id"]), int(link["post_id"])
        post = self.stored.get_message("post", ticket_id, post_id)
        if post is None or post.delivery is None:
            return ChannelOutcome(event.event_id, "unknown", ticket_id, post_id, "no post")
        if STATUS_ORDER.get(event.status, 0) > STATUS_ORDER.get(post.delivery.status, 0):
            post.delivery = post.delivery.model_copy(update={
                "status": event.status, "reason": event.reason or None,
                "updated": self.clock()})
            self.stored.replace_message("post", post)
        return ChannelOutcome(event.event_id, "status", ticket_id, post_id, event.status)


STATUS_ORDER = {"queued": 0, "sent": 1, "delivered": 2, "read": 3, "failed": 4}


@dataclass
class _ChannelArrival:
    """A customer's message on a channel, as `arrival.land` asks for it."""

    ingest: ChannelIngest
    channel: Channel
    event: ChannelMessage
    customer: User
    custom_fields: dict[str, Any]

    def seen(self) -> Earlier | None:
        return self.ingest.seen(self.channel, self.event.event_id)

    def thread(self) -> Thread:
        return self.ingest.thread(self.channel, self.event.conversation)

    def inbound(self, ticket_id: int, thread: Thread) -> Inbound:
        return self.ingest.inbound(self.channel, self.event, self.customer, ticket_id, thread)

    def new_ticket(self, inbound: Inbound) -> NewTicket:
        event = self.event
        title = event.extra.get("title") or (event.text.strip().splitlines() or [""])[0][
            :TITLE_LENGTH] or f"Message from {inbound.author.name}"
        return NewTicket(TicketCreate(title=title, source=self.channel.type,
                                      custom_fields=self.custom_fields or None),
                         self.channel.department_id)
