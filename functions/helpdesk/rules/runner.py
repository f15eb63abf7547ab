"""Rules run for one ticket event or one periodic pass, end to end: facts from storage,
`run_rules`, one versioned commit (audit: "rule <name> fired: ..."), and the effects the
workflow fans out.

Effects travel on the rules' own event: the commit records them in its context and the
ticket_event run of THAT event sends them, together with the outbound webhooks of every
event. A repeated run of a workflow finds the rules-run marker and sends the same effects
with the same keys, which the senders de-duplicate."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from helpdesk.changes import Done, TicketChange
from helpdesk.models import (
    Actor,
    ActorType,
    FieldChange,
    Message,
    Ticket,
    TicketEvent,
    User,
    UserKind,
)
from helpdesk.rules.conditions import Facts, WorkingCalendar, rule_matches
from helpdesk.rules.engine import Outcome, run_rules
from helpdesk.rules.model import Condition, Op, Rule, RuleKind
from helpdesk.rules.resolver import ResolverDesk, ResolverTickets, StoredResolver
from helpdesk.store import keys
from helpdesk.store.markers import PERIODIC_SLOT, RULES_RUN, AlreadyDone, Markers
from helpdesk.store.table import KeyRange

if TYPE_CHECKING:
    from helpdesk.sla.tracker import SlaTracker
    from helpdesk.tickets import C, Mutation

logger = logging.getLogger(__name__)

MAX_DEPTH = 10  # rule-made events in a row; past it rules stop (a rule pair undoing each other)
PERIODIC_WINDOW = timedelta(days=30)
PERIODIC_SLOT_MINUTES = 30
NO_RULES_FOR = {"deleted", "erased", "trashed"}


@dataclass
class EventResult:
    event_id: str
    rules_evaluated: int = 0
    rules_fired: list[str] = field(default_factory=list)
    effects: list[dict[str, Any]] = field(default_factory=list)
    skipped: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"event_id": self.event_id, "rules_evaluated": self.rules_evaluated,
                "rules_fired": self.rules_fired, "effects": self.effects,
                **({"skipped": self.skipped} if self.skipped else {})}


class OrderedRules(Protocol):
    def in_order(self, kind: RuleKind | None = None) -> list[Rule]:
        """Every rule (of a kind) in the order they run."""
        ...


class RunnerTickets(ResolverTickets, Protocol):
    """What running rules needs of the tickets service: the one rules' write and a rules'
    reply."""

    def staff_post(self, ticket: Ticket, change: TicketChange, text: str,
                   author: User | None, message_id: int | None = None) -> Message: ...

    def change_by_rules(self, ticket_id: int, kind: str, mutate: Mutation[C],
                        actor: Actor) -> tuple[Ticket, C]: ...


@dataclass
class RulesChange(TicketChange):
    """A rules run's change, with what the rules did (logged and reported by the caller)."""

    outcome: Outcome = field(default_factory=Outcome)


class RunnerDesk(ResolverDesk, Protocol):
    """What running rules needs of the helpdesk: events, tickets, people, subscriptions and
    markers in storage, the rules in order, the tickets service, the SLA tracker (each
    ticket's calendar), and the clock (and what the resolver needs)."""

    @property
    def rules(self) -> OrderedRules: ...

    @property
    def sla(self) -> SlaTracker: ...

    @property
    def tickets(self) -> RunnerTickets: ...

    @property
    def markers(self) -> Markers: ...

    def clock(self) -> datetime: ...


class RuleRunner:
    def __init__(self, helpdesk: RunnerDesk, calendar: WorkingCalendar | None = None,
                 mentions: Callable[[TicketEvent], list[dict[str, Any]]] | None = None) -> None:
        self.helpdesk = helpdesk
        self.calendar = calendar  # None: each ticket's own working hours (its SLA calendar)
        self.resolver = StoredResolver(helpdesk)
        self._mentions = mentions

    # --- one ticket event ----------------------------------------------------------------
    def on_event(self, ticket_id: int, version: int) -> EventResult:
        repository = self.helpdesk.repository
        event = repository.tickets.event(ticket_id, version)
        result = EventResult(event_id=f"{ticket_id}-{version}")
        if event is None:
            result.skipped = "the event is gone"
            return result
        result.effects = [*event.context.get("effects", []), *self._webhooks(event)]
        if self._mentions is not None and event.kind == "comment_added":
            result.effects += self._mentions(event)
        depth = int(event.context.get("rule_depth", 0))
        if event.kind in NO_RULES_FOR:
            result.skipped = f"no rules on {event.kind}"
            return result
        if depth >= MAX_DEPTH:
            logger.warning("rule loop cap reached: ticket %s event %s was made by rules %s "
                           "times in a row; rules not evaluated", ticket_id, version, depth)
            result.skipped = f"rule loop cap ({MAX_DEPTH}) reached"
            return result
        kind = RuleKind.NEW if event.kind == "created" else RuleKind.UPDATED
        # A rule fires once per chain of rule-made events: rules that react to each other
        # settle instead of looping.
        chain = [int(r) for r in event.context.get("rule_chain", [])]
        rules = [r for r in self.helpdesk.rules.in_order(kind) if r.id not in chain]
        if not rules:  # nothing could change: no marker, ticket, post or people to read
            return result
        done = self.helpdesk.markers.get(RULES_RUN, (ticket_id, version))
        if done is not None:  # a repeated run of this event's workflow
            result.rules_evaluated = int(done.get("rules_evaluated", 0))
            result.rules_fired = list(done.get("rules_fired", []))
            return result
        body, automatic = self._trigger(event)

        def facts_of(ticket: Ticket) -> Facts:
            return Facts(ticket=ticket, now=self.helpdesk.clock(), event_kind=event.kind,
                         changes=event.changes, body=body, automatic=automatic,
                         calendar=self._calendar_of(ticket), **self._people(ticket))

        outcome = self._apply(ticket_id, rules, facts_of, event.event_id, depth,
                              (ticket_id, version), chain=chain)
        if outcome is None:
            result.skipped = "the ticket is gone or in the trash"
            return result
        result.rules_evaluated = outcome.evaluated
        result.rules_fired = [f.name for f in outcome.fired]
        return result

    # --- the periodic pass -----------------------------------------------------------------
    def periodic(self, now: datetime) -> dict[str, Any]:
        """Once per 30-minute slot: periodic rules over tickets updated in the last 30 days,
        read through the narrowest index each rule allows. A rule fires once per ticket until
        its condition stops holding."""
        slot = _slot(now)
        rules = self.helpdesk.rules.in_order(RuleKind.PERIODIC)
        stats: dict[str, Any] = {"slot": slot, "rules": len(rules), "tickets_read": 0,
                                 "fired": 0, "claimed": False}
        if not any(rule.enabled for rule in rules):
            return stats
        if not self.helpdesk.markers.mark(PERIODIC_SLOT, slot,
                                          expires_at=int(now.timestamp()) + 7 * 86400):
            return stats  # another scheduler run has this slot
        stats["claimed"] = True
        enabled = [r for r in rules if r.enabled]
        repository = self.helpdesk.repository
        # Tickets a rule fired on before: re-checked even when they left the rule's index
        # (a pending ticket answered), so the mark goes once the condition stops holding.
        marks = {r.id: repository.periodic.periodic_marks(r.id) for r in enabled}
        candidates = {t.id: t for t in self._candidates(enabled, now)}
        for ticket_id in {t for marked in marks.values() for t in marked} - set(candidates):
            ticket = repository.tickets.get_ticket(ticket_id)
            if ticket is None or ticket.trashed:
                for rule_id, marked in marks.items():
                    if ticket_id in marked:
                        repository.periodic.set_periodic_mark(rule_id, ticket_id, False)
                continue
            candidates[ticket_id] = ticket
        stats["tickets_read"] = len(candidates)
        for ticket in candidates.values():
            fired_before = {rule_id for rule_id, marked in marks.items() if ticket.id in marked}
            stats["fired"] += self._periodic_ticket(ticket, enabled, fired_before, now, slot)
        return stats

    def _periodic_ticket(self, ticket: Ticket, rules: list[Rule], fired_before: set[int],
                         now: datetime, slot: str) -> int:
        repository = self.helpdesk.repository

        def facts_of(current: Ticket) -> Facts:
            return Facts(ticket=current, now=now, event_kind="periodic",
                         body=current.description, calendar=self._calendar_of(current),
                         **self._people(current))

        # Which rules hold on the ticket as read; those that fired before are not run again.
        facts = facts_of(ticket.model_copy(deep=True))
        held = {rule.id for rule in rules if rule_matches(rule, facts)}
        for rule_id in fired_before - held:
            repository.periodic.set_periodic_mark(rule_id, ticket.id, False)
        due = [rule for rule in rules if rule.id in held - fired_before]
        if not due:
            return 0
        outcome = self._apply(ticket.id, due, facts_of, f"{ticket.id}-p{slot}", 0, None)
        fired = [f.rule_id for f in outcome.fired] if outcome else []
        for rule_id in fired:
            repository.periodic.set_periodic_mark(rule_id, ticket.id, True)
        return len(fired)

    def _candidates(self, rules: list[Rule], now: datetime) -> list[Ticket]:
        """The union of each rule's candidates: tickets updated in the window, from the index
        its ALL conditions pin (status, department, owner), else every live ticket."""
        repository = self.helpdesk.repository
        found: dict[int, Ticket] = {}
        for rule in rules:
            low = now - PERIODIC_WINDOW
            high = now - timedelta(hours=_min_hours_since_update(rule.all))
            key_range = KeyRange(low=keys.stamp(low), high=keys.stamp(high) + "~")
            for index, pk in _indexes(rule.all):
                for ticket in repository.tickets.tickets_in(index, pk, key_range):
                    found.setdefault(ticket.id, ticket)
        return list(found.values())

    # --- shared ------------------------------------------------------------------------------
    def _calendar_of(self, ticket: Ticket) -> WorkingCalendar:
        """The working hours the "working hours" condition asks about: the ticket's calendar
        (its SLA policy's, else its department's, else the global one; 24/7 without)."""
        if self.calendar is not None:
            return self.calendar
        settings = self.helpdesk.sla.settings
        return settings.working(settings.calendar_for(ticket, settings.policy_for(ticket)))

    def _apply(self, ticket_id: int, rules: list[Rule], facts_of: Callable[[Ticket], Facts],
               cause: str, depth: int, event: tuple[int, int] | None,
               chain: list[int] | None = None) -> Outcome | None:
        """`event`: (ticket id, version) of the event whose rules these are; its rules-run
        marker commits with the change (None: a periodic pass, marked per rule instead)."""
        current = self.helpdesk.repository.tickets.get_ticket(ticket_id)
        if current is None or current.trashed:
            return None  # in the trash (by staff or mark_spam): no reply, alert or routing
        now = self.helpdesk.clock
        markers = self.helpdesk.markers

        def mutate(ticket: Ticket) -> RulesChange:
            if event is not None and markers.seen(RULES_RUN, event):
                raise AlreadyDone  # a parallel run of this event's workflow got here first
            if ticket.trashed:  # trashed since it was read: no rules either
                return RulesChange()
            before = ticket.model_copy(deep=True)
            outcome = run_rules(rules, facts_of(ticket), self.resolver, cause)
            change = RulesChange(outcome=outcome, kind="rules_applied")
            if not (outcome.notes or outcome.reply is not None or outcome.effects
                    or _audited(before) != _audited(ticket)):
                # Fired without any effect (it set what was already set): no event.
                return change
            if event is not None:
                change.claims.append(Done(RULES_RUN, event, {
                    "rules_evaluated": outcome.evaluated,
                    "rules_fired": [f.name for f in outcome.fired]}))
            for text in outcome.notes:
                change.messages.append(("comment", self._note(ticket, text, now())))
            if outcome.reply is not None:
                # A reply makes it a post event: the delivery step sends the post.
                self.helpdesk.tickets.staff_post(ticket, change, outcome.reply, None)
                change.kind = "post_added"
            change.notes += [FieldChange(field="rule", new=f.audit_line())
                             for f in outcome.fired]
            change.context = {
                "rule_depth": depth + 1, "cause": cause,
                "rule_chain": [*(chain or []), *(f.rule_id for f in outcome.fired)],
                "rules_fired": [{"id": f.rule_id, "name": f.name} for f in outcome.fired],
                "effects": outcome.effects}
            return change

        actor = Actor(type=ActorType.RULE, name="automation rules")
        try:
            _, change = self.helpdesk.tickets.change_by_rules(
                ticket_id, "rules_applied", mutate, actor)
        except AlreadyDone:
            return Outcome()
        outcome = change.outcome
        if outcome.fired:
            logger.info("rules fired on ticket %s: %s", ticket_id,
                        ", ".join(f.name for f in outcome.fired))
        return outcome

    def _note(self, ticket: Ticket, text: str, at: datetime) -> Message:
        return Message(id=self.helpdesk.repository.ids.next_id("message"), ticket_id=ticket.id,
                       user_id=None, author_type=ActorType.RULE, text=text, date_created=at,
                       date_updated=at)

    def _trigger(self, event: TicketEvent) -> tuple[str, bool]:
        """The text of the message that triggered the event, and whether it was automatic."""
        repository = self.helpdesk.repository
        ticket_id = event.ticket_id
        post_id = next((c.new for c in event.changes if c.field == "post"), None)
        if event.kind == "created":
            posts = repository.tickets.messages("post", ticket_id)
            post = posts[0] if posts else None
        elif event.kind == "post_added" and isinstance(post_id, int):
            post = repository.tickets.get_message("post", ticket_id, post_id)
        else:
            post = None
        if post is None:
            ticket = repository.tickets.get_ticket(ticket_id)
            return (ticket.description if ticket and event.kind == "created" else ""), False
        automatic = bool(post.mail and post.mail.auto_submitted) or bool(
            event.context.get("automatic"))
        return post.text, automatic

    def _people(self, ticket: Ticket) -> dict[str, Any]:
        repository = self.helpdesk.repository
        customer = repository.people.get_user(ticket.user_id) if ticket.user_id else None
        if customer is not None and customer.kind is not UserKind.CUSTOMER:
            customer_org = None
        else:
            customer_org = customer
        organization = (repository.people.get_organization(customer_org.organiz_id)
                        if customer_org is not None and customer_org.organiz_id else None)
        return {"customer": customer, "organization": organization}

    def _webhooks(self, event: TicketEvent) -> list[dict[str, Any]]:
        """One delivery per subscription that wants this kind of event ("*": all)."""
        effects = []
        for subscription in self.helpdesk.records.subscriptions.all():
            if subscription.wants(event.kind):
                effects.append({"type": "webhook", "subscription_id": subscription.id,
                                "key": f"{event.event_id}:s{subscription.id}"})
        return effects


def _audited(ticket: Ticket) -> tuple[Any, ...]:
    return tuple(getattr(ticket, name) for name in Ticket.AUDITED)


def _slot(now: datetime) -> str:
    minute = now.minute - now.minute % PERIODIC_SLOT_MINUTES
    return now.strftime("%Y%m%dT%H") + f"{minute:02d}"


def _min_hours_since_update(conditions: list[Condition]) -> float:
    """A bound the index can use: 'hours_since_updated >= N' means updated <= now - N."""
    bound = 0.0
    for condition in conditions:
        if condition.field == "hours_since_updated" and condition.op in (Op.GT, Op.GTE):
            bound = max(bound, float(condition.value))
    return bound


def _indexes(conditions: list[Condition]) -> list[tuple[str, str]]:
    for name, by in (("status_id", keys.tickets_by_status),
                     ("department_id", keys.tickets_by_department),
                     ("owner_id", keys.tickets_by_owner)):
        values = [c.value for c in conditions if c.field == name and c.op is Op.IS] or [
            v for c in conditions if c.field == name and c.op is Op.IN for v in c.value]
        if values and all(v is not None for v in values):
            return [by(value) for value in dict.fromkeys(values)]
    return [keys.all_tickets()]
