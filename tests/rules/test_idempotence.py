"""Property: the ticket_event workflow may run an event's rules twice (a retried Lambda, a
repeated fan-out). The second run changes nothing: the same ticket, no new event or audit
line, no second note or reply, no second Telegram message or mail."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from helpdesk.inputs import TicketCreate, TicketUpdate, UserCreate
from helpdesk.store.memory import MemoryTable
from tests.conftest import Clock, make_helpdesk
from tests.rules.conftest import Desk
from tests.rules.support import SEND_MESSAGE, RecordingMail, fan_out, send_effects, telegram_bot

CONDITIONS = [
    {"field": "subject", "op": "contains", "value": ["оплата", "invoice"]},
    {"field": "subject", "op": "not_contains", "value": "тест"},
    {"field": "tags", "op": "in", "value": ["vip", "gold"]},
    {"field": "tags", "op": "not_in", "value": ["done"]},
    {"field": "tags", "op": "is_set"},
    {"field": "priority_id", "op": "gt", "value": 2},
    {"field": "priority_id", "op": "lte", "value": 2},
    {"field": "custom_fields.amount", "op": "lt", "value": 1000},
    {"field": "custom_fields.amount", "op": "not_set"},
    {"field": "owner_id", "op": "is", "value": None},
    {"field": "customer.language", "op": "is_not", "value": "ru"},
    {"field": "status_id", "op": "changed", "to": "pending"},
]

ACTIONS = ["tag_done", "tag_vip", "untag_vip", "priority", "pending", "amount", "owner",
           "round_robin", "note", "reply", "telegram", "mail", "mark_spam", "stop"]


def action(name: str, bot_id: int, template_id: int, agent_id: int) -> dict[str, Any]:
    return {
        "tag_done": {"type": "add_tags", "value": ["done"]},
        "tag_vip": {"type": "add_tags", "value": ["vip"]},
        "untag_vip": {"type": "remove_tags", "value": ["vip", "gold"]},
        "priority": {"type": "set_priority", "value": 4},
        "pending": {"type": "set_status", "value": "pending"},
        "amount": {"type": "set_custom_field", "value": {"name": "amount", "value": 1500}},
        "owner": {"type": "set_owner", "value": agent_id},
        "round_robin": {"type": "set_owner", "value": "round_robin"},
        "note": {"type": "note", "value": {"text": "Правило: {{ ticket.unique_id }}"}},
        "reply": {"type": "reply", "value": {"template_id": template_id}},
        "telegram": {"type": "notify_telegram", "value": {
            "channel_id": bot_id, "chat_id": "-100500", "text": "{{ ticket.title }}"}},
        "mail": {"type": "email", "value": {"to": "address", "address": "duty@example.com",
                                            "text": "{{ ticket.unique_id }}"}},
        "mark_spam": {"type": "mark_spam"},
        "stop": {"type": "stop"},
    }[name]


rules = st.lists(st.fixed_dictionaries({
    "kind": st.sampled_from(["new", "updated"]),
    "all": st.lists(st.sampled_from(CONDITIONS), max_size=2),
    "any": st.lists(st.sampled_from(CONDITIONS), max_size=2),
    "actions": st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=3),
}), min_size=1, max_size=4)

tickets = st.fixed_dictionaries({
    "title": st.sampled_from(["Оплата счёта", "тест", "Invoice 7", "Привет"]),
    "tags": st.lists(st.sampled_from(["vip", "gold", "done"]), max_size=2, unique=True),
    "priority_id": st.sampled_from([1, 2, 3, 4]),
    "custom_fields": st.sampled_from([{}, {"amount": 500}, {"amount": 1500}]),
})

staff_changes = st.lists(st.sampled_from([
    {"status_id": "pending"}, {"status_id": "open"}, {"tags": ["gold"]}, {"priority_id": 1},
    {"custom_fields": {}}]), max_size=2)


def state(desk: Desk, ticket_id: int, fake_providers: Any, mail: RecordingMail) -> Any:
    repository = desk.helpdesk.repository
    return (repository.tickets.get_ticket(ticket_id).model_dump(),
            [e.model_dump() for e in repository.tickets.events(ticket_id)],
            [m.model_dump() for kind in ("post", "comment")
             for m in repository.tickets.messages(kind, ticket_id)],
            len(fake_providers.requests_to(SEND_MESSAGE)), len(mail.sent))


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rules=rules, ticket=tickets, changes=staff_changes)
def test_running_an_events_rules_again_changes_nothing(fake_providers, rules, ticket,
                                                       changes):
    desk = Desk(make_helpdesk(MemoryTable(), Clock()))
    bot = telegram_bot(desk, fake_providers)
    template = desk.helpdesk.templates.create(desk.admin, {
        "name": "Ack", "texts": {"en": "Got {{ ticket.unique_id }}"}})
    agents = [desk.helpdesk.users.create(desk.admin, UserCreate(
        name=f"Agent {n}", email=f"agent{n}@example.com", group_id=2, department=[1]))[0]
        for n in range(2)]
    for n, rule in enumerate(rules):
        desk.rule(name=f"Rule {n}", **{**rule, "actions": [
            action(name, bot.id, template.id, agents[0].id) for name in rule["actions"]]})
    mail = RecordingMail()
    sender = fan_out(desk, mail)
    created = desk.helpdesk.tickets.create(desk.admin, TicketCreate(
        user_email="client@example.com", description="Здравствуйте", **ticket))
    helpdesk, ticket_id = desk.helpdesk, created.id

    def run_each_event_twice() -> int:
        """Every event not run yet, as the workflow runs it, and then once more."""
        ran = 0
        while (version := desk.done.get(ticket_id, 0) + 1) <= (
                helpdesk.repository.tickets.get_ticket(ticket_id).version):
            first = desk.runner.on_event(ticket_id, version).as_dict()
            desk.done[ticket_id] = version
            send_effects(desk, sender, [first])
            before = state(desk, ticket_id, fake_providers, mail)

            again = desk.runner.on_event(ticket_id, version).as_dict()
            assert again == first
            assert set(send_effects(desk, sender, [again])) <= {"skipped"}
            assert state(desk, ticket_id, fake_providers, mail) == before
            event("an event with rules fired" if first["rules_fired"] else "an event, no rule")
            if first["effects"]:
                event("an event with notifications")
            ran += 1
        return ran

    assert run_each_event_twice() >= 1
    for change in changes:
        if helpdesk.repository.tickets.get_ticket(ticket_id).trashed:
            break
        helpdesk.tickets.update(desk.admin, ticket_id, TicketUpdate(**change))
        run_each_event_twice()
    assert desk.done[ticket_id] == helpdesk.repository.tickets.get_ticket(ticket_id).version

