"""Rules on the in-memory helpdesk: a ticket's events are run in order the way the
ticket_event workflow runs them (each rule-made event is a new event)."""

from __future__ import annotations

from typing import Any

import pytest

from helpdesk.inputs import TicketCreate, UserCreate
from helpdesk.rules.model import RuleFields
from helpdesk.rules.runner import RuleRunner
from tests.conftest import ADMIN_EMAIL, ADMIN_KEY


class Desk:
    def __init__(self, helpdesk: Any) -> None:
        self.helpdesk = helpdesk
        self.admin = helpdesk.users.authenticate(ADMIN_EMAIL, ADMIN_KEY)
        self.runner = RuleRunner(helpdesk)
        self.done: dict[int, int] = {}  # ticket -> last version run
        self.results: list[dict[str, Any]] = []

    def rule(self, **fields: Any) -> Any:
        return self.helpdesk.rules.create(self.admin, RuleFields.model_validate(fields))

    def agent(self, email: str, departments: list[int], **extra: Any) -> Any:
        user, _ = self.helpdesk.users.create(self.admin, UserCreate(
            name=extra.pop("name", email.partition("@")[0]), email=email, group_id=2,
            department=departments, **extra))
        return user

    def ticket(self, title: str, text: str = "", **fields: Any) -> Any:
        ticket = self.helpdesk.tickets.create(self.admin, TicketCreate(
            title=title, description=text or None, user_email=fields.pop(
                "user_email", "client@example.com"), **fields))
        self.settle(ticket.id)
        return self.helpdesk.repository.tickets.get_ticket(ticket.id)

    def settle(self, ticket_id: int) -> list[dict[str, Any]]:
        """Run every event not yet run, in order, as the workflow would."""
        ran = []
        while True:
            latest = self.helpdesk.repository.tickets.get_ticket(ticket_id).version
            version = self.done.get(ticket_id, 0) + 1
            if version > latest:
                return ran
            result = self.runner.on_event(ticket_id, version).as_dict()
            self.done[ticket_id] = version
            ran.append(result)
            self.results.append(result)

    def audit(self, ticket_id: int) -> list[str]:
        return [c.new for e in self.helpdesk.repository.tickets.events(ticket_id)
                for c in e.changes if c.field == "rule"]


@pytest.fixture
def desk(helpdesk) -> Desk:
    return Desk(helpdesk)
