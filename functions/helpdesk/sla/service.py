"""Calendars and SLA policies: admin management, and the read side every ticket write uses.

Both lists are small (one partition each, read whole). The read side keeps them for
`CACHE_SECONDS` per process so a ticket write costs no extra reads; a change made through
this process is seen at once, one made elsewhere within that time."""

from __future__ import annotations

import builtins
import time
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, Protocol

from helpdesk.access import Viewer
from helpdesk.errors import Conflict, InvalidInput, NotFound, UnknownReference
from helpdesk.models import Ticket, UserKind
from helpdesk.sla.model import (
    Calendar,
    CalendarFields,
    Policy,
    PolicyFields,
    Scope,
    TicketSla,
    minutes_of,
)
from helpdesk.sla.timers import Clock
from helpdesk.sla.worktime import Interval, NoWorkingTime, WorkingTime
from helpdesk.store.collection import VersionedCollection
from helpdesk.store.repository import Repository

CACHE_SECONDS = 30.0
ALWAYS_OPEN = WorkingTime("UTC", [], always_open=True)


def working_time(calendar: Calendar) -> WorkingTime:
    """The arithmetic of a calendar: its weekly hours, its own days off, its country's."""
    intervals = [Interval(weekday=("mon", "tue", "wed", "thu", "fri", "sat", "sun")
                          .index(h.day), start=minutes_of(h.start), end=minutes_of(h.end))
                 for h in calendar.hours]
    dates = {h.date for h in calendar.holidays if h.date is not None}
    yearly = {h.yearly for h in calendar.holidays if h.yearly is not None}
    public: Any = None
    if calendar.holiday_country:
        import holidays

        public = holidays.country_holidays(calendar.holiday_country,
                                           subdiv=calendar.holiday_subdivision)

    def day_off(day: date) -> bool:
        return (day in dates or f"{day.month:02d}-{day.day:02d}" in yearly
                or (public is not None and day in public))

    return WorkingTime(calendar.timezone, intervals, day_off, always_open=calendar.always_open)


class _ChannelType(Protocol):
    @property
    def type(self) -> str: ...


class ChannelRecords(Protocol):
    """What SLA policies need of the channels: is a channel there, and of which type."""

    def get(self, record_id: int) -> _ChannelType | None: ...


class SlaSettings:
    """Policies and calendars as ticket writes see them (cached briefly)."""

    def __init__(self, policies: VersionedCollection[Policy],
                 calendars: VersionedCollection[Calendar],
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._policy_records = policies
        self._calendar_records = calendars
        self._monotonic = monotonic
        self._loaded_at: float | None = None
        self._policies: list[Policy] = []
        self._calendars: list[Calendar] = []
        self._working: dict[tuple[int, int], WorkingTime] = {}

    def forget(self) -> None:
        self._loaded_at = None

    def policy_exists(self, policy_id: int) -> bool:
        """Read now, not from the cache: a policy created a moment ago exists."""
        return self._policy_records.get(policy_id) is not None

    def at_least_as_new_as(self, sla: TicketSla | None) -> None:
        """Reload when a ticket was last timed with a policy or calendar version this
        process has not seen: another container's newer settings are never undone by a
        stale cache here."""
        if sla is None:
            return
        self._load()
        for wanted, version, known in (
                (sla.policy_id, sla.policy_version, self._policies),
                (sla.calendar_id, sla.calendar_version, self._calendars)):
            if wanted is None:
                continue
            found = next((item for item in known if item.id == wanted), None)
            if found is None or found.version < (version or 0):
                self.forget()
                return

    def policies(self) -> list[Policy]:
        self._load()
        return self._policies

    def calendars(self) -> list[Calendar]:
        self._load()
        return self._calendars

    def policy(self, policy_id: int | None) -> Policy | None:
        return next((p for p in self.policies() if p.id == policy_id), None)

    def policy_for(self, ticket: Ticket) -> Policy | None:
        """The ticket's chosen policy, else the first enabled one that matches it."""
        if ticket.sla_policy_id is not None:
            chosen = self.policy(ticket.sla_policy_id)
            if chosen is not None:
                return chosen
        return next((p for p in self.policies() if p.applies_to(
            ticket.priority_id, ticket.department_id, ticket.organization_id)), None)

    def calendar_for(self, ticket: Ticket, policy: Policy | None) -> Calendar | None:
        """The policy's calendar, else the department's, else the global one."""
        calendars = self.calendars()
        if policy is not None and policy.calendar_id is not None:
            found = next((c for c in calendars if c.id == policy.calendar_id), None)
            if found is not None:
                return found
        return (next((c for c in calendars if c.scope is Scope.DEPARTMENT
                      and c.department_id == ticket.department_id), None)
                or self.global_calendar())

    def global_calendar(self) -> Calendar | None:
        return next((c for c in self.calendars() if c.scope is Scope.GLOBAL), None)

    def agent_calendar(self, agent_id: int) -> Calendar | None:
        return next((c for c in self.calendars()
                     if c.scope is Scope.AGENT and c.agent_id == agent_id), None)

    def working(self, calendar: Calendar | None) -> WorkingTime:
        if calendar is None:
            return ALWAYS_OPEN
        key = (calendar.id, calendar.version)
        if key not in self._working:
            self._working[key] = working_time(calendar)
        return self._working[key]

    def clock_for(self, ticket: Ticket, policy: Policy | None) -> tuple[Clock, Calendar | None]:
        calendar = self.calendar_for(ticket, policy)
        business = bool(policy and policy.business_hours and calendar is not None)
        return Clock(self.working(calendar), business), calendar

    def _load(self) -> None:
        now = self._monotonic()
        if self._loaded_at is not None and now - self._loaded_at < CACHE_SECONDS:
            return
        self._policies = sorted(self._policy_records.all(), key=lambda p: (p.position, p.id))
        self._calendars = sorted(self._calendar_records.all(), key=lambda c: c.id)
        self._loaded_at = now


class Calendars:
    def __init__(self, repository: Repository, calendars: VersionedCollection[Calendar],
                 policies: VersionedCollection[Policy], settings: SlaSettings,
                 clock: Callable[[], datetime]) -> None:
        self._repository = repository
        self._calendars = calendars
        self._policies = policies
        self._settings = settings
        self._clock = clock

    def list(self, viewer: Viewer) -> list[Calendar]:
        viewer.require_staff("read working-time calendars")
        return sorted(self._calendars.all(), key=lambda c: c.id)

    def get(self, viewer: Viewer, calendar_id: int) -> Calendar:
        viewer.require_staff("read working-time calendars")
        return self._require(calendar_id)

    def create(self, viewer: Viewer, fields: CalendarFields) -> Calendar:
        viewer.require_admin("manage working-time calendars")
        self._check(fields, None)
        now = self._clock()
        calendar = Calendar(id=self._repository.ids.next_id("calendar"), date_created=now,
                            date_updated=now, **fields.model_dump())
        self._calendars.save(calendar, None)
        self._settings.forget()
        return calendar

    def update(self, viewer: Viewer, calendar_id: int, body: dict[str, Any]) -> Calendar:
        """`body` holds the fields to change; the result is validated as a whole."""
        viewer.require_admin("manage working-time calendars")
        calendar = self._require(calendar_id)
        merged = {**calendar.model_dump(include=set(CalendarFields.model_fields)), **body}
        fields = CalendarFields.model_validate(merged)
        self._check(fields, calendar_id)
        updated = Calendar(id=calendar.id, version=calendar.version + 1,
                           date_created=calendar.date_created, date_updated=self._clock(),
                           **fields.model_dump())
        self._calendars.save(updated, calendar.version)
        self._settings.forget()
        return updated

    def delete(self, viewer: Viewer, calendar_id: int) -> None:
        viewer.require_admin("manage working-time calendars")
        self._require(calendar_id)
        users = [p.name for p in self._policies.all() if p.calendar_id == calendar_id]
        if users:
            raise Conflict(f"calendar {calendar_id} is used by SLA policies: {', '.join(users)}")
        self._calendars.erase(calendar_id)
        self._settings.forget()

    def working(self, viewer: Viewer, calendar_id: int) -> WorkingTime:
        return self._settings.working(self.get(viewer, calendar_id))

    def _require(self, calendar_id: int) -> Calendar:
        calendar = self._calendars.get(calendar_id)
        if calendar is None:
            raise NotFound(f"calendar {calendar_id} does not exist")
        return calendar

    def _check(self, fields: CalendarFields, own_id: int | None) -> None:
        """Working time exists; one calendar per scope (global; each department; agent)."""
        probe = Calendar(id=0, **fields.model_dump())
        try:
            working_time(probe).next_working(self._clock())
        except NoWorkingTime:
            raise InvalidInput("the calendar has no working time in the next three years "
                               "(are all days holidays?)", field="holidays") from None
        if fields.department_id is not None and self._repository.dictionary.dictionary_entry(
                "departments", fields.department_id) is None:
            raise UnknownReference(f"department {fields.department_id} does not exist",
                                   field="department_id")
        if fields.agent_id is not None:
            agent = self._repository.people.get_user(fields.agent_id)
            if agent is None or agent.kind is not UserKind.STAFF:
                raise UnknownReference(f"{fields.agent_id} is not a staff member", field="agent_id")
        for other in self._calendars.all():
            if other.id != own_id and (other.scope, other.department_id, other.agent_id) == (
                    fields.scope, fields.department_id, fields.agent_id):
                raise Conflict(f"calendar {other.id} already covers this {fields.scope.value}"
                               " scope; change that one")


class Policies:
    def __init__(self, repository: Repository, policies: VersionedCollection[Policy],
                 calendars: VersionedCollection[Calendar], channels: ChannelRecords,
                 settings: SlaSettings, clock: Callable[[], datetime]) -> None:
        self._repository = repository
        self._policies = policies
        self._calendars = calendars
        self._channels = channels
        self._settings = settings
        self._clock = clock

    def list(self, viewer: Viewer) -> list[Policy]:
        viewer.require_staff("read SLA policies")
        return self.in_order()

    def in_order(self) -> builtins.list[Policy]:
        return sorted(self._policies.all(), key=lambda p: (p.position, p.id))

    def get(self, viewer: Viewer, policy_id: int) -> Policy:
        viewer.require_staff("read SLA policies")
        return self._require(policy_id)

    def create(self, viewer: Viewer, fields: PolicyFields) -> Policy:
        viewer.require_admin("manage SLA policies")
        self._check(fields)
        now = self._clock()
        last = max((p.position for p in self.in_order()), default=0)
        policy = Policy(id=self._repository.ids.next_id("sla_policy"), position=last + 1,
                        date_created=now, date_updated=now, **fields.model_dump())
        self._policies.save(policy, None)
        self._settings.forget()
        return policy

    def update(self, viewer: Viewer, policy_id: int, body: dict[str, Any]) -> Policy:
        viewer.require_admin("manage SLA policies")
        policy = self._require(policy_id)
        merged = {**policy.model_dump(include=set(PolicyFields.model_fields)), **body}
        fields = PolicyFields.model_validate(merged)
        self._check(fields)
        return self._save(policy, fields.model_dump())

    def delete(self, viewer: Viewer, policy_id: int) -> None:
        viewer.require_admin("manage SLA policies")
        self._require(policy_id)
        self._policies.erase(policy_id)
        self._settings.forget()

    def reorder(self, viewer: Viewer, ids: builtins.list[int]) -> builtins.list[Policy]:
        """`ids` lists every policy once, in the order they are tried (first match wins)."""
        viewer.require_admin("manage SLA policies")
        policies = {p.id: p for p in self.in_order()}
        if sorted(ids) != sorted(policies):
            raise Conflict(f"ids must list each SLA policy exactly once: {sorted(policies)}",
                           field="ids")
        return [self._save(policies[i], {"position": n}) if policies[i].position != n
                else policies[i] for n, i in enumerate(ids, start=1)]

    def _save(self, policy: Policy, changes: dict[str, Any]) -> Policy:
        updated = Policy.model_validate({**policy.model_dump(), **changes,
                                         "version": policy.version + 1,
                                         "date_updated": self._clock()})
        self._policies.save(updated, policy.version)
        self._settings.forget()
        return updated

    def _require(self, policy_id: int) -> Policy:
        policy = self._policies.get(policy_id)
        if policy is None:
            raise NotFound(f"SLA policy {policy_id} does not exist")
        return policy

    def _check(self, fields: PolicyFields) -> None:
        for name, kind, values in (("priority_ids", "priorities", fields.priority_ids),
                                   ("department_ids", "departments", fields.department_ids)):
            for value in values:
                if self._repository.dictionary.dictionary_entry(kind, value) is None:
                    raise UnknownReference(f"{name}: {value} is not one of the {kind}", field=name)
        for organization_id in fields.organization_ids:
            if self._repository.people.get_organization(organization_id) is None:
                raise UnknownReference(f"organization_ids: {organization_id} does not exist",
                                       field="organization_ids")
        if fields.calendar_id is not None and self._calendars.get(
                fields.calendar_id) is None:
            raise UnknownReference(f"calendar {fields.calendar_id} does not exist",
                                   field="calendar_id")
        escalation = fields.escalation
        priorities = self._repository.dictionary
        if escalation.raise_priority_to is not None and priorities.dictionary_entry(
                "priorities", escalation.raise_priority_to) is None:
            raise UnknownReference(f"priority {escalation.raise_priority_to} does not exist",
                                   field="escalation.raise_priority_to")
        for who in escalation.notify:
            if isinstance(who, int):
                user = self._repository.people.get_user(who)
                if user is None or user.kind is not UserKind.STAFF:
                    raise UnknownReference(f"escalation.notify: {who} is not a staff member",
                                           field="escalation.notify")
        if escalation.telegram is not None:
            channel = self._channels.get(escalation.telegram["channel_id"])
            if channel is None or channel.type != "telegram":
                raise UnknownReference(f"channel {escalation.telegram['channel_id']} is not a "
                                       "Telegram channel", field="escalation.telegram")
