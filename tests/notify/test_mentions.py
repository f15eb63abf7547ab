"""@mentions in private comments notify the agents meant."""

from __future__ import annotations

from helpdesk.inputs import MessageCreate, TicketCreate, UserCreate, UserUpdate
from helpdesk.notify.mentions import mention_effects
from tests.conftest import ADMIN_EMAIL, ADMIN_KEY


def test_agents_and_departments_mentioned_in_a_comment_are_notified(helpdesk):
    admin = helpdesk.users.authenticate(ADMIN_EMAIL, ADMIN_KEY)
    billing = helpdesk.dictionaries.add(admin, "departments", {"en": "Billing",
                                                               "ru": "Бухгалтерия"}, None, {})

    def agent(email: str, name: str, departments: list[int]):
        user, _ = helpdesk.users.create(admin, UserCreate(
            name=name, email=email, group_id=2, department=departments))
        return user

    anna = agent("anna@example.com", "Анна", [1])
    boris = agent("boris@example.com", "Boris", [billing.id])
    gone = agent("gone@example.com", "Gone", [billing.id])
    helpdesk.users.update(admin, gone.id, UserUpdate(status="disabled"))
    agent("quiet@example.com", "Quiet", [1])

    ticket = helpdesk.tickets.create(admin, TicketCreate(title="Refund", user_email="c@x.io"))
    helpdesk.tickets.add_message(admin, ticket.id, "comment", MessageCreate(
        text="@анна please check; @бухгалтерия refund? cc c@x.io and @Анна again"))
    event = helpdesk.repository.tickets.events(ticket.id)[-1]
    effects = mention_effects(helpdesk, event)
    assert [e["notification"]["to"] for e in effects] == [[anna.email], [boris.email]]
    assert effects[0]["notification"]["key"] == f"{event.event_id}:m{anna.id}"
    assert "mentioned you" in effects[0]["notification"]["subject"]
    assert "@бухгалтерия refund?" in effects[1]["notification"]["text"]

    helpdesk.tickets.add_message(admin, ticket.id, "comment", MessageCreate(
        text="no mentions here, write to boris@example.com"))
    assert mention_effects(helpdesk, helpdesk.repository.tickets.events(ticket.id)[-1]) == []


def test_the_comment_event_carries_the_mention_to_the_fan_out(helpdesk):
    from helpdesk.rules.runner import RuleRunner

    admin = helpdesk.users.authenticate(ADMIN_EMAIL, ADMIN_KEY)
    duty, _ = helpdesk.users.create(admin, UserCreate(name="Duty", email="duty@example.com",
                                                      group_id=2, department=[1]))
    ticket = helpdesk.tickets.create(admin, TicketCreate(title="Outage", user_email="c@x.io"))
    helpdesk.tickets.add_message(admin, ticket.id, "comment", MessageCreate(text="@duty look"))
    runner = RuleRunner(helpdesk, mentions=lambda event: mention_effects(helpdesk, event))
    version = helpdesk.repository.tickets.get_ticket(ticket.id).version
    effects = runner.on_event(ticket.id, version).effects
    assert [e["notification"]["to"] for e in effects] == [[duty.email]]
