"""Periodic rules: every 30 minutes over recently updated tickets, once per ticket until the
condition stops holding."""

from __future__ import annotations

from helpdesk.inputs import MessageCreate, TicketUpdate


def waiting_rules(desk):
    desk.rule(name="Remind after 3 days", kind="periodic",
              all=[{"field": "status_id", "op": "is", "value": "pending"},
                   {"field": "hours_since_status_set", "op": "gte", "value": 72}],
              actions=[{"type": "note", "value": {"text": "Reminder sent"}},
                       {"type": "add_tags", "value": ["reminded"]}])
    desk.rule(name="Close after 7 days", kind="periodic",
              all=[{"field": "status_id", "op": "is", "value": "pending"},
                   {"field": "hours_since_status_set", "op": "gte", "value": 168}],
              actions=[{"type": "set_status", "value": "closed"}])


def test_reminder_once_then_close_with_a_fake_clock(desk, clock):
    waiting_rules(desk)
    ticket = desk.ticket("Question")
    desk.helpdesk.tickets.update(desk.admin, ticket.id, TicketUpdate(status_id="pending"))
    runner = desk.runner
    for _ in range(2 * 24 * 2):  # two days of 30-minute passes: nothing is due yet
        clock.advance(minutes=30)
        runner.periodic(clock())
    assert desk.audit(ticket.id) == []

    for _ in range(2 * 24 * 2):  # days 3 and 4: the reminder fires exactly once
        clock.advance(minutes=30)
        runner.periodic(clock())
    assert [line.split(":")[0] for line in desk.audit(ticket.id)] == [
        "rule 'Remind after 3 days' fired"]
    assert len(desk.helpdesk.repository.tickets.messages("comment", ticket.id)) == 1

    for _ in range(3 * 24 * 2):  # to day 7: closed
        clock.advance(minutes=30)
        runner.periodic(clock())
    closed = desk.helpdesk.repository.tickets.get_ticket(ticket.id)
    assert closed.status_id == "closed"
    assert [line.split(":")[0] for line in desk.audit(ticket.id)] == [
        "rule 'Remind after 3 days' fired", "rule 'Close after 7 days' fired"]


def test_it_fires_again_only_after_the_condition_stopped_holding(desk, clock):
    waiting_rules(desk)
    ticket = desk.ticket("Question")
    desk.helpdesk.tickets.update(desk.admin, ticket.id, TicketUpdate(status_id="pending"))
    clock.advance(hours=73)
    desk.runner.periodic(clock())
    # The customer answers (the ticket reopens), then the agent sets pending again.
    desk.helpdesk.tickets.add_message(desk.admin, ticket.id, "post",
                                      MessageCreate(text="asked", user_id=ticket.user_id))
    desk.helpdesk.tickets.update(desk.admin, ticket.id, TicketUpdate(status_id="open"))
    clock.advance(minutes=30)
    desk.runner.periodic(clock())
    desk.helpdesk.tickets.update(desk.admin, ticket.id, TicketUpdate(status_id="pending"))
    clock.advance(hours=73)
    desk.runner.periodic(clock())
    assert [line.split(":")[0] for line in desk.audit(ticket.id)] == [
        "rule 'Remind after 3 days' fired", "rule 'Remind after 3 days' fired"]


def test_one_pass_per_slot_and_only_the_pinned_index_is_read(desk, clock):
    waiting_rules(desk)
    for n in range(5):
        desk.ticket(f"open {n}")
    waiting = desk.ticket("waiting")
    desk.helpdesk.tickets.update(desk.admin, waiting.id, TicketUpdate(status_id="pending"))
    clock.advance(hours=80)
    first = desk.runner.periodic(clock())
    again = desk.runner.periodic(clock())  # the same slot, e.g. the next minute's tick
    assert first["claimed"] and first["tickets_read"] == 1 and first["fired"] == 1
    assert not again["claimed"] and again["tickets_read"] == 0
