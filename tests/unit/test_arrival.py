"""helpdesk.arrival.land: a message is written once; a lost race is a duplicate when an
earlier copy stored it, else the message tries again and joins what won."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import count

import pytest

from helpdesk.arrival import Earlier, NewTicket, Thread, land
from helpdesk.errors import Conflict
from helpdesk.inputs import TicketCreate
from helpdesk.models import ActorType, Message, Ticket, User, UserKind
from helpdesk.store.collection import StaleVersion
from helpdesk.tickets import Inbound

NOW = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
CUSTOMER = User(id=7, kind=UserKind.CUSTOMER, group_id=3, name="Анна")


def _ticket(ticket_id: int) -> Ticket:
    return Ticket(id=ticket_id, unique_id=f"HD-{ticket_id}", title="t", date_created=NOW,
                  date_updated=NOW, version=1)


def _message(ticket_id: int, message_id: int) -> Message:
    return Message(id=message_id, ticket_id=ticket_id, user_id=7,
                   author_type=ActorType.CUSTOMER, text="hi", date_created=NOW,
                   date_updated=NOW)


class Ids:
    def __init__(self) -> None:
        self._next = count(100)

    def next_id(self, name: str) -> int:
        return next(self._next)


class Arrival:
    """A conversation whose thread and earlier copies change as the test says."""

    def __init__(self, threads: list[Thread], earlier: list[Earlier | None]) -> None:
        self.threads, self.earlier = threads, earlier
        self.inbound_for: list[int] = []

    def seen(self) -> Earlier | None:
        return self.earlier.pop(0)

    def thread(self) -> Thread:
        return self.threads.pop(0)

    def inbound(self, ticket_id: int, thread: Thread) -> Inbound:
        self.inbound_for.append(ticket_id)
        return Inbound(author=CUSTOMER, text="hi")

    def new_ticket(self, inbound: Inbound) -> NewTicket:
        return NewTicket(TicketCreate(title="hi"), department_id=2)


class Tickets:
    """Loses the first `losses` writes, as when a concurrent delivery won a claim."""

    def __init__(self, losses: int) -> None:
        self.losses = losses
        self.written: list[tuple[str, int]] = []

    def _write(self, how: str, ticket_id: int) -> None:
        if self.losses:
            self.losses -= 1
            raise StaleVersion("a claim was taken")
        self.written.append((how, ticket_id))

    def add_inbound(self, ticket_id: int, inbound: Inbound,
                    read: Ticket | None = None) -> Message:
        self._write("appended", ticket_id)
        return _message(ticket_id, 1)

    def open_with_message(self, fields: TicketCreate, inbound: Inbound,
                          department_id: int | None = None,
                          ticket_id: int | None = None) -> tuple[Ticket, Message]:
        assert ticket_id is not None and department_id == 2
        self._write("created", ticket_id)
        return _ticket(ticket_id), _message(ticket_id, 1)


def test_a_copy_that_loses_to_an_earlier_copy_is_a_duplicate_and_writes_nothing():
    arrival = Arrival([Thread()], [Earlier(5, 50)])
    tickets = Tickets(losses=1)
    landed = land(arrival, tickets, Ids())
    assert (landed.outcome, landed.ticket_id, landed.post_id) == ("duplicate", 5, 50)
    assert tickets.written == []


def test_a_first_message_that_loses_the_conversation_joins_the_ticket_that_won():
    arrival = Arrival([Thread(), Thread(_ticket(5), "conversation", linked=5)], [None])
    tickets = Tickets(losses=1)
    landed = land(arrival, tickets, Ids())
    assert (landed.outcome, landed.ticket_id) == ("appended", 5)
    assert tickets.written == [("appended", 5)]
    assert arrival.inbound_for == [100, 5]  # a new ticket's id first, then the winner's


def test_a_message_that_loses_every_race_is_refused_for_a_retry():
    arrival = Arrival([Thread()] * 3, [None] * 3)
    with pytest.raises(Conflict):
        land(arrival, Tickets(losses=3), Ids())
