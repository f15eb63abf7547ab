"""Rule actions as users see them: assignment, replies in the customer's language, effects."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest

from helpdesk.errors import InvalidInput
from helpdesk.inputs import UserUpdate
from helpdesk.rules.model import RuleFields


def test_round_robin_is_fair_over_100_tickets_and_skips_inactive_agents(desk):
    agents = [desk.agent(f"agent{n}@example.com", [1]) for n in range(4)]
    billing = desk.helpdesk.dictionaries.add(desk.admin, "departments", {"en": "Billing"},
                                             None, {})
    desk.agent("other@example.com", [billing.id])  # another department: never picked
    desk.rule(name="Assign", kind="new", actions=[{"type": "set_owner", "value": "round_robin"}])
    owners = Counter(desk.ticket(f"t{n}").owner_id for n in range(100))
    assert owners == {agent.id: 25 for agent in agents}

    desk.helpdesk.users.update(desk.admin, agents[0].id, UserUpdate(status="disabled"))
    later = Counter(desk.ticket(f"u{n}").owner_id for n in range(30))
    assert agents[0].id not in later and sum(later.values()) == 30


def test_least_loaded_picks_the_agent_with_fewest_open_tickets(desk):
    busy, free = desk.agent("busy@example.com", [1]), desk.agent("free@example.com", [1])
    for n in range(3):
        desk.ticket(f"busy {n}", owner_id=busy.id)
    desk.rule(name="Assign", kind="new", actions=[{"type": "set_owner", "value": "least_loaded"}])
    assert desk.ticket("new").owner_id == free.id


def test_acknowledgement_reply_in_the_customers_language(desk):
    template = desk.helpdesk.templates.create(desk.admin, {
        "name": "Received", "texts": {
            "en": "Hello {{ customer.name }}, we got your request {{ ticket.unique_id }}.",
            "ru": "Здравствуйте, {{ customer.name }}! Заявка {{ ticket.unique_id }} принята."}})
    desk.rule(name="Ack", kind="new", actions=[
        {"type": "reply", "value": {"template_id": template.id}}])
    english = desk.ticket("Hi", "text", user_email="john@example.com", user_name="John")
    customer = desk.helpdesk.repository.people.user_by_contact("email", "ivan@example.com")
    assert customer is None
    russian_user = desk.helpdesk.users.find_or_create_customer("ivan@example.com", "Иван")
    desk.helpdesk.users.update(desk.admin, russian_user.id, UserUpdate(language="ru"))
    russian = desk.ticket("Привет", "текст", user_email="ivan@example.com")

    def replies(ticket):
        return [p.text for p in desk.helpdesk.repository.tickets.messages("post", ticket.id)
                if p.author_type.value == "staff"]

    assert replies(english) == [f"Hello John, we got your request {english.unique_id}."]
    assert replies(russian) == [f"Здравствуйте, Иван! Заявка {russian.unique_id} принята."]
    events = desk.helpdesk.repository.tickets.events(english.id)
    (event,) = [e for e in events if e.actor.type == "rule"]
    assert event.kind == "post_added"  # so the delivery step sends it


def test_effects_are_carried_by_the_rules_event_with_deterministic_keys(desk):
    agent = desk.agent("duty@example.com", [1])
    desk.rule(name="Alert", kind="new", actions=[
        {"type": "set_owner", "value": agent.id},
        {"type": "email", "value": {"to": "owner", "subject": "New: {{ ticket.title }}",
                                    "text": "{{ ticket.unique_id }} is yours"}},
        {"type": "email", "value": {"to": "customer", "text": "We are on it"}},
        {"type": "notify_slack", "value": {"url": "https://hooks.slack.com/services/x",
                                           "text": "New ticket {{ ticket.unique_id }}"}}])
    ticket = desk.ticket("Printer on fire")
    effects = [e for r in desk.results for e in r["effects"]]
    assert [e["type"] for e in effects] == ["notify", "customer_email", "notify"]
    mail, customer, slack = effects
    assert mail["notification"] == {
        "key": f"{ticket.id}-1:r1:a1", "kind": "email", "to": ["duty@example.com"],
        "subject": "New: Printer on fire", "text": f"{ticket.unique_id} is yours"}
    assert customer["text"] == "We are on it" and slack["notification"]["kind"] == "slack"
    # A second run of the rules event's workflow hands out the same keys.
    rules_event = desk.helpdesk.repository.tickets.get_ticket(ticket.id).version
    again = desk.runner.on_event(ticket.id, rules_event).as_dict()["effects"]
    assert again == effects


def test_webhook_subscriptions_get_every_event_kind_they_asked_for(desk):
    from helpdesk.subscriptions.model import SubscriptionCreate, SubscriptionUpdate

    subscriptions = desk.helpdesk.subscriptions
    created, _ = subscriptions.create(desk.admin, SubscriptionCreate(
        url="https://hooks.example.com/x", event_types=["created"]))
    everything, _ = subscriptions.create(desk.admin, SubscriptionCreate(
        url="https://hooks.example.com/all", event_types=["*"]))
    subscriptions.create(desk.admin, SubscriptionCreate(
        url="https://hooks.example.com/posts", event_types=["post_added"]))
    paused, _ = subscriptions.create(desk.admin, SubscriptionCreate(
        url="https://hooks.example.com/paused", event_types=["*"]))
    subscriptions.update(desk.admin, paused.id, SubscriptionUpdate(enabled=False))
    ticket = desk.ticket("x")
    assert desk.results[0]["effects"] == [
        {"type": "webhook", "subscription_id": wanted.id,
         "key": f"{ticket.id}-1:s{wanted.id}"} for wanted in (created, everything)]


def test_bad_rules_are_refused_with_the_field_named(desk):
    with pytest.raises(ValueError, match="unknown field 'colour'"):
        RuleFields.model_validate({"name": "x", "kind": "new", "actions": [{"type": "stop"}],
                                   "all": [{"field": "colour", "op": "is", "value": 1}]})
    with pytest.raises(ValueError, match="regex"):
        RuleFields.model_validate({"name": "x", "kind": "new", "actions": [{"type": "stop"}],
                                   "all": [{"field": "subject", "op": "regex", "value": "(("}]})
    with pytest.raises(ValueError, match=r"unknown placeholder 'ticket\.nope'"):
        RuleFields.model_validate({"name": "x", "kind": "new", "actions": [
            {"type": "note", "value": {"text": "{{ ticket.nope }}"}}]})
    with pytest.raises(InvalidInput, match=r"actions\.0\.value 99 is not one of the priorities"):
        desk.rule(name="x", kind="new", actions=[{"type": "set_priority", "value": 99}])


def test_ticket_link_in_a_rule_note_points_at_the_configured_workspace(memory_table, clock):
    from tests.conftest import make_helpdesk
    from tests.rules.conftest import Desk

    helpdesk = make_helpdesk(memory_table, clock)
    helpdesk.settings = replace(helpdesk.settings,
                                ticket_link_base="https://desk.example.com/tickets/")
    desk = Desk(helpdesk)
    desk.rule(name="Link", kind="new", actions=[
        {"type": "note", "value": {"text": "Open: {{ ticket.link }}"}}])
    ticket = desk.ticket("Printer")
    notes = [m.text for m in helpdesk.repository.tickets.messages("comment", ticket.id)]
    assert notes == [f"Open: https://desk.example.com/tickets/{ticket.id}"]
