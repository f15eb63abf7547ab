"""An in-memory helpdesk with a Berlin office calendar (Mon-Fri 09:00-17:00) and SLA
policies per priority, on a clock the tests move."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from helpdesk.inputs import MessageCreate, TicketCreate, TicketUpdate, UserCreate
from helpdesk.sla.model import CalendarFields, PolicyFields
from tests.conftest import ADMIN_EMAIL, ADMIN_KEY

BERLIN = ZoneInfo("Europe/Berlin")
CRITICAL, NORMAL = 4, 2


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN).astimezone(UTC)


class Desk:
    def __init__(self, helpdesk: Any, clock: Any) -> None:
        self.helpdesk = helpdesk
        self.clock = clock
        self.admin = helpdesk.users.authenticate(ADMIN_EMAIL, ADMIN_KEY)

    def at(self, moment: datetime) -> None:
        self.clock.now = moment

    def calendar(self, **fields: Any) -> Any:
        base = {"name": "Office", "timezone": "Europe/Berlin",
                "hours": [{"day": d, "start": "09:00", "end": "17:00"}
                          for d in ("mon", "tue", "wed", "thu", "fri")]}
        return self.helpdesk.calendars.create(self.admin,
                                              CalendarFields.model_validate(base | fields))

    def policy(self, **fields: Any) -> Any:
        return self.helpdesk.sla_policies.create(self.admin, PolicyFields.model_validate(fields))

    def agent(self, email: str, **extra: Any) -> Any:
        user, _ = self.helpdesk.users.create(self.admin, UserCreate(
            name=email.partition("@")[0], email=email, group_id=2, department=[1], **extra))
        return user

    def ticket(self, priority: int = CRITICAL, **fields: Any) -> Any:
        ticket = self.helpdesk.tickets.create(self.admin, TicketCreate(
            title="Printer on fire", description="Help!", user_email="ann@example.com",
            priority_id=priority, **fields))
        return ticket

    def update(self, ticket_id: int, **fields: Any) -> Any:
        return self.helpdesk.tickets.update(self.admin, ticket_id,
                                            TicketUpdate.model_validate(fields))

    def reply(self, ticket_id: int, text: str = "On it") -> Any:
        return self.helpdesk.tickets.add_message(self.admin, ticket_id, "post",
                                                 MessageCreate(text=text))

    def customer_writes(self, ticket_id: int, text: str = "Any news?") -> Any:
        customer = self.helpdesk.repository.people.user_by_contact("email", "ann@example.com")
        from helpdesk.tickets import Inbound

        return self.helpdesk.tickets.add_inbound(ticket_id, Inbound(author=customer, text=text))

    def get(self, ticket_id: int) -> Any:
        return self.helpdesk.repository.tickets.get_ticket(ticket_id)


@pytest.fixture
def desk(helpdesk, clock) -> Desk:
    return Desk(helpdesk, clock)


@pytest.fixture
def office(desk: Desk) -> Desk:
    """Critical: reply in 15 min, resolve in 1 h; Normal: 1 h / 8 h; working time."""
    desk.calendar()
    desk.policy(name="Critical", priority_ids=[CRITICAL], first_reply_minutes=15,
                resolution_minutes=60)
    desk.policy(name="Normal", priority_ids=[NORMAL], first_reply_minutes=60,
                resolution_minutes=480)
    return desk
