"""Which ticket events start the ticket_event workflow (helpdesk/workflow_gate.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from helpdesk.rules.model import Rule, RuleKind
from helpdesk.subscriptions.model import Subscription
from helpdesk.workflow_gate import WorkflowGate, workflow_work

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


@dataclass
class Config:
    rules: list[Rule] = field(default_factory=list)
    subscriptions: list[Subscription] = field(default_factory=list)
    reads: int = 0

    def all_rules(self) -> list[Rule]:
        self.reads += 1
        return self.rules

    def all_subscriptions(self) -> list[Subscription]:
        self.reads += 1
        return self.subscriptions


def _rule(kind: RuleKind, enabled: bool = True) -> Rule:
    return Rule(id=1, name="r", kind=kind, position=1, enabled=enabled)


def test_a_customers_plain_text_without_automation_needs_no_workflow():
    assert workflow_work("post_added", {"post_work": False}, Config()) is None
    assert workflow_work("updated", {}, Config()) is None


@pytest.mark.parametrize(("kind", "context"), [
    ("post_added", {"post_work": True}),  # a staff reply to send, media to fetch
    ("post_added", {}),  # written before the flag: as before, the workflow decides
    ("created", {}),
    ("updated", {"effects": [{"type": "email"}]}),  # a rule's mail to send
    ("comment_added", {}),  # mentions notify staff
])
def test_the_event_itself_can_ask_for_the_workflow_without_reading_anything(kind, context):
    config = Config()
    assert workflow_work(kind, context, config) is not None
    assert config.reads == 0


def test_enabled_rules_of_the_events_kind_ask_for_it():
    updated = Config(rules=[_rule(RuleKind.UPDATED)])
    assert workflow_work("post_added", {"post_work": False}, updated) == "rules of its kind"
    assert workflow_work("created", {"post_work": False}, updated) is None  # not NEW rules
    assert workflow_work("post_added", {"post_work": False},
                         Config(rules=[_rule(RuleKind.UPDATED, enabled=False)])) is None
    assert workflow_work("trashed", {}, updated) is None  # no rules run on it
    assert workflow_work("created", {"post_work": False},
                         Config(rules=[_rule(RuleKind.NEW)])) == "rules of its kind"


def test_a_subscription_that_wants_the_kind_asks_for_it():
    wants_all = Subscription(id=1, url="https://hooks.example.com/x")
    closing = Subscription(id=2, url="https://hooks.example.com/y", event_types=["closed"])
    off = Subscription(id=3, url="https://hooks.example.com/z", enabled=False)
    assert workflow_work("trashed", {}, Config(subscriptions=[wants_all])) is not None
    assert workflow_work("updated", {}, Config(subscriptions=[closing, off])) is None
    assert workflow_work("closed", {}, Config(subscriptions=[closing])) is not None


@dataclass
class Events:
    done: list[tuple[int, int, datetime, int]] = field(default_factory=list)

    def record_workflow_done(self, ticket_id: int, version: int, at: datetime,
                             rules_evaluated: int) -> bool:
        self.done.append((ticket_id, version, at, rules_evaluated))
        return True


def test_the_gate_records_an_event_without_work_as_done():
    events = Events()
    gate = WorkflowGate(Config(), events, lambda: NOW)
    assert gate.needs_workflow(7, 3, "post_added", {"post_work": False}) is False
    assert gate.needs_workflow(7, 4, "post_added", {"post_work": True}) is True
    assert events.done == [(7, 3, NOW, 0)]
