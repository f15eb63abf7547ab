"""Keeps a ticket's SLA state current on every write (called inside the one ticket write
path, so the state and the due index entry commit with the change that moved them).

- The clock stops while the status pauses it (waiting for the customer, on hold), while the
  ticket is closed and while it is in the trash; each stop becomes a pause.
- The first staff reply meets the first-reply target (rules' automatic replies do not); a
  close meets the resolution target, a reopen makes it run again.
- Due and warning instants are recomputed from the whole history under the policy that
  applies now, so a priority changed mid-way moves them; `sla_date` overrides the
  resolution due time. A breach stays a breach.
- The version goes up whenever a due or warning instant moves; with the check it names the
  escalation run, so a repeated run of the same check is a no-op."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from helpdesk.models import Ticket
from helpdesk.sla.model import Pause, Policy, Stage, Target, TargetState, TicketSla
from helpdesk.sla.service import SlaSettings
from helpdesk.sla.timers import Clock, elapsed, reach
from helpdesk.sla.worktime import NoWorkingTime

logger = logging.getLogger(__name__)


class SlaTracker:
    def __init__(self, settings: SlaSettings, is_paused: Callable[[str], bool],
                 is_closed: Callable[[str], bool]) -> None:
        self.settings = settings
        self._is_paused = is_paused
        self._is_closed = is_closed

    def stopped(self, ticket: Ticket) -> bool:
        return (ticket.trashed or self._is_paused(ticket.status_id)
                or self._is_closed(ticket.status_id))

    def track(self, before: Ticket | None, ticket: Ticket, now: datetime, *,
              staff_replied: bool) -> None:
        sla = (ticket.sla or TicketSla()).model_copy(deep=True)
        if sla.started_at is None:
            # A ticket from before SLA tracking starts its clock now: its past (and pauses)
            # are unknown, and timing it from creation would page people for old tickets.
            sla.started_at = ticket.date_created if before is None else now
        _note_stop(sla, before is not None and self.stopped(before), self.stopped(ticket),
                   before is None, now)
        self.settings.at_least_as_new_as(ticket.sla)
        policy = self.settings.policy_for(ticket)
        clock, calendar = self.settings.clock_for(ticket, policy)
        start = sla.started_at
        if staff_replied and sla.first_reply.met_at is None:
            _meet(ticket, sla, Target.FIRST_REPLY, now)
            self._figures(sla, clock, start, now, Target.FIRST_REPLY)
        closed = self._is_closed(ticket.status_id) and not ticket.trashed
        was_closed = before is not None and self._is_closed(before.status_id) \
            and not before.trashed
        if closed and not was_closed:
            _meet(ticket, sla, Target.RESOLUTION, now)
            self._figures(sla, clock, start, now, Target.RESOLUTION)
        elif was_closed and not closed:
            sla.resolution.met_at = None
        signature = _signature(sla)
        sla.policy_id = policy.id if policy else None
        sla.policy_version = policy.version if policy else None
        sla.calendar_id = calendar.id if calendar else None
        sla.calendar_version = calendar.version if calendar else None
        sla.business_hours = clock.business_hours
        warn = policy.escalation.warn_at_percent if policy else None
        targets = ((sla.first_reply, policy.first_reply_minutes if policy else None, None),
                   (sla.resolution, policy.resolution_minutes if policy else None,
                    ticket.sla_date))
        try:
            for state, minutes, explicit in targets:
                _arm(sla, state, minutes, explicit, clock, start, warn)
        except NoWorkingTime:
            # Saving a calendar refuses this; never let timers block the ticket's change.
            logger.error("ticket %s: calendar %s has no working time ahead; counting "
                         "calendar time", ticket.id, sla.calendar_id)
            for state, minutes, explicit in targets:
                _arm(sla, state, minutes, explicit, Clock(clock.calendar, False), start, warn)
        if _signature(sla) != signature:
            sla.version += 1
        sla.next_check, sla.next_check_kind = (None, None) if self.stopped(ticket) \
            else _next_check(sla)
        ticket.sla = sla

    def _figures(self, sla: TicketSla, clock: Clock, start: datetime, now: datetime,
                 which: Target) -> None:
        working = Clock(clock.calendar, True)
        calendar_time = Clock(clock.calendar, False)
        spent = [elapsed(c, start, sla.pauses, sla.paused_since, now).total_seconds()
                 for c in (calendar_time, working)]
        if which is Target.FIRST_REPLY:
            sla.figures.first_reply_at = now
            sla.figures.first_reply_calendar_seconds, sla.figures.first_reply_working_seconds = \
                spent
        else:
            sla.figures.resolved_at = now
            sla.figures.resolution_calendar_seconds, sla.figures.resolution_working_seconds = \
                spent


BREACH_TAGS = {Target.FIRST_REPLY: "sla_first_reply_breached",
               Target.RESOLUTION: "sla_resolution_breached"}


def protected_tags(ticket: Ticket) -> set[str]:
    """The tags of the ticket's missed targets: nobody may remove them."""
    if ticket.sla is None:
        return set()
    return {tag for which, tag in BREACH_TAGS.items() if ticket.sla.target(which).breached}


def policy_summary(policy: Policy | None) -> str:
    if policy is None:
        return "no SLA policy"
    parts = [f"first reply {policy.first_reply_minutes} min"] if policy.first_reply_minutes \
        else []
    if policy.resolution_minutes:
        parts.append(f"resolution {policy.resolution_minutes} min")
    hours = "working" if policy.business_hours else "calendar"
    return f"{policy.name}: {', '.join(parts)} ({hours} time)"


def _meet(ticket: Ticket, sla: TicketSla, which: Target, now: datetime) -> None:
    """Met, in time or not: late before the escalation noticed is a breach all the same."""
    state = sla.target(which)
    state.met_at = now
    if state.due is not None and now > state.due and not state.breached:
        state.breached, state.breached_at = True, state.due
        if BREACH_TAGS[which] not in ticket.tags:
            ticket.tags = [*ticket.tags, BREACH_TAGS[which]]


def _note_stop(sla: TicketSla, was_stopped: bool, stopped: bool, new: bool,
               now: datetime) -> None:
    if stopped and (new or not was_stopped):
        sla.paused_since = now
    elif was_stopped and not stopped:
        if sla.paused_since is not None and now > sla.paused_since:
            sla.pauses.append(Pause(start=sla.paused_since, end=now))
        sla.paused_since = None


def _arm(sla: TicketSla, state: TargetState, minutes: int | None, explicit: datetime | None,
         clock: Clock, start: datetime, warn_percent: int | None) -> None:
    state.minutes = minutes
    state.left_seconds = None
    if state.met_at is not None or (minutes is None and explicit is None):
        state.due = state.warn_at = None
        return
    if explicit is not None:  # an agreed date: fixed, whatever the pauses
        state.due = explicit
        state.warn_at = (start + (explicit - start) * warn_percent / 100
                         if warn_percent and explicit > start else None)
        return
    assert minutes is not None
    target = timedelta(minutes=minutes)
    due = reach(clock, start, sla.pauses, sla.paused_since, target)
    if due is None:  # paused short of the target: no due time until the clock runs again
        assert sla.paused_since is not None
        spent = elapsed(clock, start, sla.pauses, sla.paused_since, sla.paused_since)
        state.due = state.warn_at = None
        state.left_seconds = (target - spent).total_seconds()
        return
    state.due = due
    state.warn_at = (reach(clock, start, sla.pauses, sla.paused_since,
                           target * warn_percent / 100) if warn_percent else None)


def _signature(sla: TicketSla) -> tuple[object, ...]:
    return (sla.policy_id, sla.first_reply.due, sla.first_reply.warn_at, sla.resolution.due,
            sla.resolution.warn_at)


def _next_check(sla: TicketSla) -> tuple[datetime | None, str | None]:
    checks: list[tuple[datetime, str]] = []
    for which in Target:
        state = sla.target(which)
        if state.met_at is not None or state.due is None or state.breached:
            continue
        if state.warn_at is not None and not state.warned:
            checks.append((state.warn_at, f"{which.value}.{Stage.WARNING.value}"))
        checks.append((state.due, f"{which.value}.{Stage.BREACH.value}"))
    if not checks:
        return None, None
    return min(checks)
