"""What happens when an SLA check comes due: a warning notice (a share of the target used)
or a breach (the target missed: the breach tag, optionally a higher priority, the audit
entry, and notices to the assignee, the department's managers and chosen people, by mail
and to the team's Telegram chat or Slack).

One check is identified by ticket, target, stage and SLA version. The ticket change carries
a unique marker item for it, so a repeated run (the scheduler read the same due item twice,
a workflow retried) changes nothing and sends the same notices again, which the notifier
de-duplicates by key. A check that no longer holds (the reply came, the clock paused, the
due time moved: a new version) is stale and does nothing."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from helpdesk.changes import Done, TicketChange
from helpdesk.models import Actor, ActorType, FieldChange, Ticket, User, UserKind
from helpdesk.sla.model import Policy, Stage, Target, TargetState
from helpdesk.sla.tracker import BREACH_TAGS, SlaTracker
from helpdesk.sla.worktime import NoWorkingTime, WorkingTime
from helpdesk.store import keys
from helpdesk.store.markers import SLA_ESCALATED, AlreadyDone, Markers

if TYPE_CHECKING:
    from helpdesk.dictionaries import Dictionaries
    from helpdesk.sla.service import SlaSettings
    from helpdesk.store.repository import Repository
    from helpdesk.tickets import C, Mutation

SLA_ACTOR = Actor(type=ActorType.SLA, name="SLA")
TARGET_NAMES = {Target.FIRST_REPLY: "first reply", Target.RESOLUTION: "resolution"}


@dataclass(frozen=True)
class Check:
    ticket_id: int
    target: Target
    stage: Stage
    version: int
    due: str = ""  # the index's stamp, for logs

    @property
    def name(self) -> str:
        """The escalation run's name: the same check never runs twice."""
        return f"sla-{self.ticket_id}-{self.target.value}-{self.stage.value}-v{self.version}"

    @property
    def kind(self) -> str:
        return f"{self.target.value}.{self.stage.value}"

    @staticmethod
    def parse(sort_key: str) -> Check:
        due, ticket_id, kind, version = keys.parse_sla_due(sort_key)
        target, _, stage = kind.partition(".")
        return Check(ticket_id, Target(target), Stage(stage), version, due)

    def as_input(self) -> dict[str, Any]:
        return {"ticket_id": self.ticket_id, "target": self.target.value,
                "stage": self.stage.value, "sla_version": self.version}


@dataclass
class DueScan:
    checks: list[Check] = field(default_factory=list)
    items_read: int = 0


def due_checks(repository: Any, now: datetime, per_shard: int = 500) -> DueScan:
    """Everything due by `now`, from each shard of the due index (nothing else is read)."""
    scan = DueScan()
    for shard in range(keys.SLA_SHARDS):
        sort_keys = repository.tickets.sla_due(shard, keys.stamp(now), per_shard)
        scan.items_read += len(sort_keys)
        scan.checks += [Check.parse(sk) for sk in sort_keys]
    return scan


@dataclass
class Outcome:
    status: str  # escalated | already | stale
    reason: str = ""
    notices: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "reason": self.reason, "notices": self.notices}


class EscalationTickets(Protocol):
    """What escalating needs of the tickets service: a re-timing write and the one
    automation write."""

    def retime(self, ticket_id: int, actor: Actor, note: str) -> Ticket: ...

    def change_by_rules(self, ticket_id: int, kind: str, mutate: Mutation[C],
                        actor: Actor) -> tuple[Ticket, C]: ...


class EscalationDesk(Protocol):
    """What an SLA check needs of the helpdesk: the ticket, its marker, departments and
    staff in storage, the priority names, the SLA tracker (policies, calendars, whether the
    clock runs), the tickets service, and the clock."""

    @property
    def repository(self) -> Repository: ...

    @property
    def sla(self) -> SlaTracker: ...

    @property
    def dictionaries(self) -> Dictionaries: ...

    @property
    def tickets(self) -> EscalationTickets: ...

    @property
    def markers(self) -> Markers: ...

    def clock(self) -> datetime: ...


class Escalations:
    def __init__(self, helpdesk: EscalationDesk) -> None:
        self.helpdesk = helpdesk

    def escalate(self, check: Check) -> Outcome:
        repository = self.helpdesk.repository
        tickets = self.helpdesk.tickets
        ticket = repository.tickets.get_ticket(check.ticket_id)
        if ticket is None:
            return Outcome("stale", "the ticket is gone")
        check = self._upgraded(ticket, check)
        if self._moved(ticket):
            tickets.retime(ticket.id, SLA_ACTOR, "due times recomputed: the SLA policy or "
                           "calendar changed")
            return Outcome("stale", "the policy or calendar changed: re-timed")
        markers = self.helpdesk.markers
        marker_key = (check.ticket_id, check.kind, check.version)
        if markers.seen(SLA_ESCALATED, marker_key):
            return self._repeat(ticket, check)
        reason = self._stale(ticket, check)
        if reason:
            return Outcome("stale", reason)
        settings = self.helpdesk.sla.settings
        policy = settings.policy(ticket.sla.policy_id if ticket.sla else None)
        now = self.helpdesk.clock

        def mutate(current: Ticket) -> TicketChange:
            if markers.seen(SLA_ESCALATED, marker_key):
                raise AlreadyDone  # another run of this check committed first
            if self._stale(current, check):
                return TicketChange()
            lines: list[FieldChange] = []
            assert current.sla is not None
            state = current.sla.target(check.target)
            moment = now()
            if check.stage is Stage.WARNING:
                state.warned = True
                lines.append(FieldChange(field="sla", new=(
                    f"{TARGET_NAMES[check.target]} target: warning, due "
                    f"{_local(state.due, settings, current, policy)}")))
            else:
                state.breached, state.breached_at = True, moment
                tag = BREACH_TAGS[check.target]
                if tag not in current.tags:
                    current.tags = [*current.tags, tag]
                raised = policy.escalation.raise_priority_to if policy else None
                if raised is not None and (current.priority_id or 0) < raised:
                    current.priority_id = raised
                lines.append(FieldChange(field="sla", new=(
                    f"{TARGET_NAMES[check.target]} target missed (due "
                    f"{_local(state.due, settings, current, policy)})")))
            return TicketChange(claims=[Done(SLA_ESCALATED, marker_key, {"check": check.name})],
                                notes=lines, context={"sla_check": check.name})

        try:
            changed, change = tickets.change_by_rules(
                check.ticket_id, f"sla_{check.stage.value}", mutate, SLA_ACTOR)
        except AlreadyDone:
            return self._repeat(ticket, check)
        if not change.notes:
            return Outcome("stale", "the check no longer holds")
        return Outcome("escalated", notices=self.notices(changed, check, policy))

    def _moved(self, ticket: Ticket) -> bool:
        """Would the current policies and calendars time this ticket otherwise?"""
        if ticket.sla is None:
            return False
        probe = ticket.model_copy(deep=True)
        self.helpdesk.sla.track(ticket, probe, self.helpdesk.clock(),
                                        staff_replied=False)
        assert probe.sla is not None
        return probe.sla.version != ticket.sla.version

    def _upgraded(self, ticket: Ticket, check: Check) -> Check:
        """A warning found with the target itself past due (the scheduler was behind) is
        the breach: one notice, not two at once."""
        if check.stage is not Stage.WARNING or ticket.sla is None:
            return check
        due = ticket.sla.target(check.target).due
        if due is not None and due <= self.helpdesk.clock():
            return replace(check, stage=Stage.BREACH)
        return check

    def _repeat(self, ticket: Ticket, check: Check) -> Outcome:
        """Done before: the same notices (the notifier sends each key once)."""
        settings = self.helpdesk.sla.settings
        policy = settings.policy(ticket.sla.policy_id if ticket.sla else None)
        return Outcome("already", "this check was escalated before",
                       self.notices(ticket, check, policy))

    def _stale(self, ticket: Ticket, check: Check) -> str:
        sla = ticket.sla
        if ticket.trashed or sla is None:
            return "the ticket has no SLA clock"
        if sla.version != check.version:
            return f"the due times moved (version {sla.version})"
        if self.helpdesk.sla.stopped(ticket):
            return "the clock is stopped"
        state: TargetState = sla.target(check.target)
        if state.met_at is not None:
            return "the target was met"
        if state.breached or (check.stage is Stage.WARNING and state.warned):
            return "already escalated"
        instant = state.warn_at if check.stage is Stage.WARNING else state.due
        if instant is None or instant > self.helpdesk.clock():
            return "not due yet"
        return ""

    # --- who hears of it -----------------------------------------------------------------
    def notices(self, ticket: Ticket, check: Check,
                policy: Policy | None) -> list[dict[str, Any]]:
        """Notification effects, each with `send_at` when held until working hours."""
        if policy is None:
            return []
        settings = self.helpdesk.sla.settings
        escalation = policy.escalation
        now = self.helpdesk.clock()
        team_calendar = settings.working(settings.calendar_for(ticket, policy))
        subject, text = self._message(ticket, check, policy)
        base = f"{check.name}"
        notices: list[dict[str, Any]] = []
        for user in self._people(ticket, policy):
            own = settings.agent_calendar(user.id)
            calendar = settings.working(own) if own else team_calendar
            notices.append(_notice({"key": f"{base}-u{user.id}", "kind": "email",
                                    "to": [user.email], "subject": subject, "text": text},
                                   calendar, now, escalation.hold_until_working_hours))
        if escalation.telegram:
            notices.append(_notice({"key": f"{base}-telegram", "kind": "telegram",
                                    "channel_id": escalation.telegram["channel_id"],
                                    "to": [escalation.telegram["chat_id"]], "text": text},
                                   team_calendar, now, escalation.hold_until_working_hours))
        if escalation.slack_url:
            notices.append(_notice({"key": f"{base}-slack", "kind": "slack", "to": [],
                                    "url": escalation.slack_url, "text": text},
                                   team_calendar, now, escalation.hold_until_working_hours))
        return notices

    def _people(self, ticket: Ticket, policy: Policy) -> list[User]:
        repository = self.helpdesk.repository
        wanted: list[int] = []
        for who in policy.escalation.notify:
            if who == "assignee" and ticket.owner_id:
                wanted.append(ticket.owner_id)
            elif who == "department_managers" and ticket.department_id is not None:
                entry = repository.dictionary.dictionary_entry("departments", ticket.department_id)
                wanted += [int(m) for m in (entry.extra.get("managers", []) if entry else [])]
            elif who == "department" and ticket.department_id is not None:
                wanted += [u.id for u in repository.people.users_of_kind(UserKind.STAFF.value)
                           if ticket.department_id in u.department]
            elif isinstance(who, int):
                wanted.append(who)
        people = []
        for user_id in dict.fromkeys(wanted):
            user = repository.people.get_user(user_id)
            if user is not None and user.kind is UserKind.STAFF and user.active and user.email:
                people.append(user)
        return people

    def _message(self, ticket: Ticket, check: Check, policy: Policy) -> tuple[str, str]:
        settings = self.helpdesk.sla.settings
        state = ticket.sla.target(check.target) if ticket.sla else TargetState()
        what = TARGET_NAMES[check.target]
        due = _local(state.due, settings, ticket, policy)
        if check.stage is Stage.WARNING:
            headline = f"SLA warning: {what} of {ticket.unique_id} is due {due}"
        else:
            headline = f"SLA missed: {what} of {ticket.unique_id} was due {due}"
        priority = self.helpdesk.dictionaries.get("priorities", ticket.priority_id or 0)
        text = "\n".join([
            headline,
            f"Ticket: {ticket.unique_id} \u2014 {ticket.title}",
            f"Priority: {priority.name.get('en', priority.id) if priority else '-'}",
            f"Policy: {policy.name}",
            f"Customer: {ticket.user_email or ticket.user_name or '-'}",
        ])
        return headline, text


def _notice(notification: dict[str, Any], calendar: WorkingTime, now: datetime,
            hold: bool) -> dict[str, Any]:
    """An item of the escalation workflow's fan-out: the effect the effects Lambda sends,
    and `send_at` (UTC) when it waits for the recipient's working hours."""
    notice: dict[str, Any] = {"effect": {"type": "notify", "notification": notification}}
    if hold:
        try:
            opens = calendar.next_working(now)
        except NoWorkingTime:
            opens = now
        if opens > now:
            notice["send_at"] = opens.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return notice


def _local(moment: datetime | None, settings: SlaSettings, ticket: Ticket,
           policy: Policy | None) -> str:
    """A due time in the ticket calendar's zone, as people there read it."""
    if moment is None:
        return "-"
    calendar = settings.calendar_for(ticket, policy)
    zone = calendar.timezone if calendar else "UTC"
    return moment.astimezone(ZoneInfo(zone)).strftime(f"%Y-%m-%d %H:%M {zone}")
