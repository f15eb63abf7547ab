"""Whether a ticket event's workflow has anything to do, decided before it is started.

The ticket_event workflow runs the rules, sends the effects (webhooks, automatic mail, staff
notices) and delivers a new post. For most events of a team without automation it does
nothing: a customer's plain-text message, no rule of that kind, no webhook that wants it.
Starting it anyway costs a Step Functions execution (its state transitions are most of a
small deployment's bill), a Lambda invoke and three reads per event. `workflow_work` names
the first reason the workflow has work, reading the rules and subscriptions only when the
event itself does not decide; `None` means the event is recorded as done at once, as the
workflow's last step would have recorded it."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from helpdesk.rules.model import Rule, RuleKind
from helpdesk.subscriptions.model import Subscription

R_co = TypeVar("R_co", covariant=True)
NO_RULES_FOR = frozenset({"deleted", "erased", "trashed"})  # as the rules runner
POST_KINDS = frozenset({"post_added", "created"})


class AutomationConfig(Protocol):
    """The rules and webhook subscriptions as stored now."""

    def all_rules(self) -> Sequence[Rule]: ...

    def all_subscriptions(self) -> Sequence[Subscription]: ...


class EventRecorder(Protocol):
    def record_workflow_done(self, ticket_id: int, version: int, at: datetime,
                             rules_evaluated: int) -> bool: ...


def rule_kind_of(event_kind: str) -> RuleKind:
    return RuleKind.NEW if event_kind == "created" else RuleKind.UPDATED


def workflow_work(kind: str, context: Mapping[str, Any], config: AutomationConfig) -> str | None:
    """Why the workflow must run for an event of `kind` with `context`, or None."""
    if context.get("effects"):
        return "effects the event carries"
    if kind == "comment_added":
        return "a note may mention staff"
    if kind in POST_KINDS and context.get("post_work", True):
        return "a post to deliver or media to fetch"  # events older than the flag: run
    if kind not in NO_RULES_FOR:
        wanted = rule_kind_of(kind)
        if any(rule.enabled and rule.kind is wanted for rule in config.all_rules()):
            return "rules of its kind"
    if any(subscription.wants(kind) for subscription in config.all_subscriptions()):
        return "a webhook subscription wants it"
    return None


class StoredAutomation:
    """AutomationConfig read from the table's records (two Queries, when asked)."""

    def __init__(self, records: RecordCollections) -> None:
        self._records = records

    def all_rules(self) -> Sequence[Rule]:
        return self._records.rules.all()

    def all_subscriptions(self) -> Sequence[Subscription]:
        return self._records.subscriptions.all()


class RecordCollections(Protocol):
    @property
    def rules(self) -> Listing[Rule]: ...

    @property
    def subscriptions(self) -> Listing[Subscription]: ...


class Listing(Protocol[R_co]):
    def all(self) -> Sequence[R_co]: ...


@dataclass
class WorkflowGate:
    """Starts an event's workflow only when it has work; otherwise records the event done."""

    config: AutomationConfig
    events: EventRecorder
    clock: Callable[[], datetime]

    def needs_workflow(self, ticket_id: int, version: int, kind: str,
                       context: Mapping[str, Any]) -> bool:
        if workflow_work(kind, context, self.config) is not None:
            return True
        self.events.record_workflow_done(ticket_id, version, self.clock(), rules_evaluated=0)
        return False
