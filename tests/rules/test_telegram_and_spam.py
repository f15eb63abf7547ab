"""`notify_telegram` and `mark_spam` as people notice them: a message in the duty chat
(through the fake Telegram API on 127.0.0.1), a ticket in the trash, and the audit line
naming the rule."""

from __future__ import annotations

import json

import pytest

from helpdesk.errors import InvalidInput
from helpdesk.inputs import TicketUpdate
from helpdesk.tickets import TicketFilter
from tests.rules.support import (
    SEND_MESSAGE,
    RecordingMail,
    fan_out,
    send_effects,
    telegram_bot,
)


def test_telegram_alert_reaches_the_duty_chat_once(desk, fake_providers):
    bot = telegram_bot(desk, fake_providers)
    desk.rule(name="Critical to duty chat", kind="new",
              all=[{"field": "priority_id", "op": "is", "value": 4}],
              actions=[{"type": "notify_telegram", "value": {
                  "channel_id": bot.id, "chat_id": "-100500",
                  "text": "Срочно: {{ ticket.unique_id }} {{ ticket.title }}"}}])
    sender = fan_out(desk, RecordingMail())

    ticket = desk.ticket("Сервер упал", priority_id=4)
    assert send_effects(desk, sender, desk.results) == ["sent"]
    (request,) = fake_providers.requests_to(SEND_MESSAGE)
    assert json.loads(request.body) == {
        "chat_id": "-100500", "text": f"Срочно: {ticket.unique_id} Сервер упал"}
    assert desk.audit(ticket.id) == [
        "rule 'Critical to duty chat' fired: Telegram message to -100500"]

    # The workflow runs the fan-out again (a retry): the chat hears it once.
    assert send_effects(desk, sender, desk.results) == ["skipped"]
    assert len(fake_providers.requests_to(SEND_MESSAGE)) == 1

    before = len(desk.results)
    quiet = desk.ticket("Вопрос", priority_id=2)
    assert desk.audit(quiet.id) == []
    assert [r["event_id"] for r in desk.results[before:]] == [f"{quiet.id}-1"]
    assert send_effects(desk, sender, desk.results[before:]) == []
    assert len(fake_providers.requests_to(SEND_MESSAGE)) == 1


def test_telegram_alert_needs_a_telegram_channel_when_saved(desk):
    with pytest.raises(InvalidInput, match=r"channel 77 is not a Telegram channel"):
        desk.rule(name="x", kind="new", actions=[{"type": "notify_telegram", "value": {
            "channel_id": 77, "chat_id": "-1", "text": "x"}}])


def spam_rules(desk):
    desk.rule(name="Spam filter", kind="new",
              any=[{"field": "text", "op": "contains", "value": ["казино", "casino"]},
                   {"field": "customer.email", "op": "contains", "value": "@spam.example"}],
              actions=[{"type": "mark_spam"}])
    desk.rule(name="Route", kind="new", actions=[{"type": "add_tags", "value": ["routed"]},
                                                 {"type": "set_priority", "value": 3}])
    desk.rule(name="On every change", kind="updated",
              actions=[{"type": "note", "value": {"text": "changed"}}])


def test_spam_goes_to_the_trash_and_no_other_rule_touches_it(desk):
    spam_rules(desk)
    spam = desk.ticket("Лучшее КАЗИНО онлайн", "Бонус 100%")
    ran = desk.results[:]

    assert spam.trashed and spam.tags == ["spam"]
    assert desk.audit(spam.id) == [
        "rule 'Spam filter' fired: marked as spam (moved to the trash), later rules skipped"]
    everyone = TicketFilter()
    assert [t.id for t in desk.helpdesk.tickets.list(desk.admin, TicketFilter(trash=True))] == [
        spam.id]
    assert desk.helpdesk.tickets.list(desk.admin, everyone) == []
    # The rules' own event does not wake the updated rules: nothing more is written.
    assert [r["rules_fired"] for r in ran] == [["Spam filter"], []]
    assert ran[-1]["skipped"] == "the ticket is gone or in the trash"
    assert [e.kind for e in desk.helpdesk.repository.tickets.events(spam.id)] == [
        "created", "rules_applied"]
    assert desk.helpdesk.repository.tickets.messages("comment", spam.id) == []

    fine = desk.ticket("Где мой заказ?")
    assert not fine.trashed and fine.tags == ["routed"]
    assert [line.split(":")[0] for line in desk.audit(fine.id)] == [
        "rule 'Route' fired", "rule 'On every change' fired"]
    assert [t.id for t in desk.helpdesk.tickets.list(desk.admin, everyone)] == [fine.id]


def test_spam_by_sender_address_and_restoring_it(desk):
    spam_rules(desk)
    spam = desk.ticket("Hello", "Hi there", user_email="bot@spam.example")
    assert spam.trashed and spam.tags == ["spam"]

    # Staff disagree and restore it: it is a live ticket again and rules see that change.
    desk.helpdesk.tickets.restore(desk.admin, spam.id)
    desk.settle(spam.id)
    restored = desk.helpdesk.repository.tickets.get_ticket(spam.id)
    assert not restored.trashed
    assert [line.split(":")[0] for line in desk.audit(spam.id)] == [
        "rule 'Spam filter' fired", "rule 'On every change' fired"]


def test_a_ticket_staff_trashed_gets_no_rules_on_later_changes(desk):
    spam_rules(desk)
    ticket = desk.ticket("Где мой заказ?")
    desk.helpdesk.tickets.trash(desk.admin, ticket.id)
    desk.helpdesk.tickets.update(desk.admin, ticket.id, TicketUpdate(priority_id=4))
    ran = desk.settle(ticket.id)
    assert [r.get("skipped") for r in ran] == [
        "no rules on trashed", "the ticket is gone or in the trash"]
    assert desk.audit(ticket.id) == [  # from before it was trashed
        "rule 'Route' fired: tags + routed; priority_id = 3",
        "rule 'On every change' fired: private note"]
