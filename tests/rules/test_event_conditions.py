"""Conditions that read the triggering event or the ticket's history, through the real runner:
`changed` (with and without from/to, among other changes of one event), who wrote last,
automatic mail, and each `hours_since_*` figure as a periodic rule sees it."""

from __future__ import annotations

from typing import Any

import pytest

from helpdesk.inputs import MessageCreate, TicketUpdate
from helpdesk.mail.ingest import Mailboxes, MailIngest
from helpdesk.store.blobs import MemoryBlobs
from tests.mail.conftest import MAILBOX, mail


def tags(desk: Any, ticket_id: int) -> list[str]:
    return desk.helpdesk.repository.tickets.get_ticket(ticket_id).tags


def update(desk: Any, ticket_id: int, **fields: Any) -> None:
    desk.helpdesk.tickets.update(desk.admin, ticket_id, TicketUpdate(**fields))
    desk.settle(ticket_id)


def test_changed_without_from_or_to_fires_on_any_change_of_that_field_only(desk):
    desk.rule(name="Reprioritised", kind="updated",
              all=[{"field": "priority_id", "op": "changed"}],
              actions=[{"type": "add_tags", "value": ["reprioritised"]}])
    untouched = desk.ticket("Other fields change", priority_id=1)
    update(desk, untouched.id, status_id="pending")
    update(desk, untouched.id, department_id=1)
    assert tags(desk, untouched.id) == [] and desk.audit(untouched.id) == []

    changed = desk.ticket("Priority changes", priority_id=1)
    update(desk, changed.id, priority_id=4)
    assert tags(desk, changed.id) == ["reprioritised"]
    assert desk.audit(changed.id) == ["rule 'Reprioritised' fired: tags + reprioritised"]


def test_changed_from_to_needs_both_ends(desk):
    desk.rule(name="Answered while waiting", kind="updated",
              all=[{"field": "status_id", "op": "changed", "from": "pending", "to": "closed"}],
              actions=[{"type": "add_tags", "value": ["closed-after-wait"]}])
    waited = desk.ticket("Waited")
    update(desk, waited.id, status_id="pending")
    assert tags(desk, waited.id) == []  # open -> pending: the wrong end
    update(desk, waited.id, status_id="closed")
    assert tags(desk, waited.id) == ["closed-after-wait"]

    direct = desk.ticket("Closed at once")
    update(desk, direct.id, status_id="closed")  # open -> closed: the wrong start
    assert tags(desk, direct.id) == [] and desk.audit(direct.id) == []


def test_changed_finds_its_field_among_the_other_changes_of_one_update(desk):
    # One update changes status, priority and tags: its changes come in that order, so each
    # rule's field is preceded by others.
    desk.rule(name="Escalated", kind="updated",
              all=[{"field": "priority_id", "op": "changed", "to": 4}],
              actions=[{"type": "set_department", "value": 1}])
    desk.rule(name="Tagged", kind="updated",
              all=[{"field": "tags", "op": "changed"}],
              actions=[{"type": "note", "value": {"text": "tags changed"}}])
    ticket = desk.ticket("Many at once", priority_id=1)
    update(desk, ticket.id, status_id="pending", priority_id=4, tags=["vip"])
    assert desk.helpdesk.repository.tickets.get_ticket(ticket.id).department_id == 1
    assert [line.split(":")[0] for line in desk.audit(ticket.id)] == [
        "rule 'Escalated' fired", "rule 'Tagged' fired"]


def test_last_writer_tells_a_customer_message_from_a_staff_one(desk):
    desk.rule(name="Customer is waiting", kind="updated",
              all=[{"field": "last_writer", "op": "is", "value": "customer"}],
              actions=[{"type": "add_tags", "value": ["awaiting-us"]}])
    answered = desk.ticket("We answered")
    desk.helpdesk.tickets.add_message(desk.admin, answered.id, "post",
                                      MessageCreate(text="Done"))
    desk.settle(answered.id)
    assert tags(desk, answered.id) == [] and desk.audit(answered.id) == []

    asked = desk.ticket("They asked again")
    desk.helpdesk.tickets.add_message(desk.admin, asked.id, "post",
                                      MessageCreate(text="Any news?", user_id=asked.user_id))
    desk.settle(asked.id)
    assert tags(desk, asked.id) == ["awaiting-us"]


def test_automatic_mail_is_told_from_a_person_writing(desk):
    desk.rule(name="Robots", kind="new",
              all=[{"field": "automatic", "op": "is", "value": True}],
              actions=[{"type": "add_tags", "value": ["robot"]}])
    ingest = MailIngest(desk.helpdesk, MemoryBlobs(), Mailboxes.parse(MAILBOX), "HD")

    def receive(raw: bytes, key: str) -> int:
        result = ingest.ingest(raw, raw_key=f"inbound/{key}", ses_message_id=key,
                               recipients=[MAILBOX])
        assert result.outcome == "created"
        desk.settle(result.ticket_id)
        return result.ticket_id

    robot = receive(mail(subject="Report", headers={"Auto-Submitted": "auto-generated"}), "a")
    person = receive(mail(subject="Help me"), "b")
    assert tags(desk, robot) == ["robot"]
    assert desk.audit(robot) == ["rule 'Robots' fired: tags + robot"]
    assert tags(desk, person) == [] and desk.audit(person) == []


# A ticket's history, hours after it was created: the customer wrote again at 20, staff
# answered at 40, the status was set at 60 and the tags at 90; the rules look at hour 100.
FIGURES = {"hours_since_created": 100, "hours_since_customer_reply": 80,
           "hours_since_staff_reply": 60, "hours_since_status_set": 40,
           "hours_since_updated": 10}


@pytest.mark.parametrize(("name", "hours"), FIGURES.items())
def test_each_hours_since_figure_counts_from_its_own_moment(desk, clock, name, hours):
    desk.rule(name="Window", kind="periodic",
              all=[{"field": name, "op": "gt", "value": hours - 1},
                   {"field": name, "op": "lt", "value": hours + 1}],
              actions=[{"type": "add_tags", "value": ["in-window"]}])
    ticket = desk.ticket("History", "First message")
    tickets = desk.helpdesk.tickets
    clock.advance(hours=20)
    tickets.add_message(desk.admin, ticket.id, "post",
                        MessageCreate(text="Still broken", user_id=ticket.user_id))
    clock.advance(hours=20)
    tickets.add_message(desk.admin, ticket.id, "post", MessageCreate(text="Looking"))
    clock.advance(hours=20)
    tickets.update(desk.admin, ticket.id, TicketUpdate(status_id="pending"))
    clock.advance(hours=30)
    tickets.update(desk.admin, ticket.id, TicketUpdate(tags=["seen"]))
    desk.settle(ticket.id)
    clock.advance(hours=10)

    desk.runner.periodic(clock())
    assert tags(desk, ticket.id) == ["seen", "in-window"]
    assert desk.audit(ticket.id) == ["rule 'Window' fired: tags + in-window"]
