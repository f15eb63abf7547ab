"""Narrow views of the stores (which live in `store/`) and of the tickets service, shared by
the modules that only read or write a little of them: each names what it uses, so mypy
checks the real stores against these, tests may pass small fakes, and no feature module
needs the whole `Helpdesk`."""

from __future__ import annotations

import builtins
from typing import Protocol

from helpdesk.arrival import TicketIds
from helpdesk.channels.model import Channel
from helpdesk.models import Message, Ticket, User
from helpdesk.store.rate_counters import RateCounters


class StoredTickets(Protocol):
    def get_ticket(self, ticket_id: int) -> Ticket | None: ...

    def get_message(self, kind: str, ticket_id: int, message_id: int) -> Message | None: ...

    def messages(self, kind: str, ticket_id: int) -> builtins.list[Message]: ...

    def replace_message(self, kind: str, message: Message) -> None: ...


class EventPosts(Protocol):
    def post_of_event(self, ticket_id: int, version: int) -> int | None:
        """The post a ticket event added, if it added one."""
        ...


class StoredPeople(Protocol):
    def get_user(self, user_id: int) -> User | None: ...


class StoredRecords(Protocol):
    """The per-kind stores on the table (`store.repository.Repository`)."""

    @property
    def tickets(self) -> StoredTickets: ...

    @property
    def people(self) -> StoredPeople: ...

    @property
    def ids(self) -> TicketIds: ...

    @property
    def rates(self) -> RateCounters: ...


class StoredChannels(Protocol):
    def get(self, record_id: int) -> Channel | None: ...

    def all(self) -> builtins.list[Channel]: ...


class AdminLists(Protocol):
    """The administrators' lists (`records.Records`), as far as channel code reads them."""

    @property
    def channels(self) -> StoredChannels: ...
