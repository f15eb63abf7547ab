"""A ticket's SLA clock as the people using it see it: due times in working hours, pauses
while waiting for the customer, a priority change moving the due times, sla_date, figures
for reports, and the breach tag nobody can remove."""

from __future__ import annotations

from datetime import timedelta

import pytest

from api.views import sla_view
from helpdesk.errors import InvalidInput
from helpdesk.sla.tracker import BREACH_TAGS
from helpdesk.store import keys
from tests.sla.conftest import CRITICAL, NORMAL, berlin


def near(actual, expected) -> bool:
    """Equal but for the test clock's microsecond ticks."""
    return actual is not None and abs(actual - expected) < timedelta(seconds=1)


def _indexed(desk, ticket_id: int) -> str | None:
    item = desk.helpdesk.repository.table.get(*keys.ticket(ticket_id))
    return item.get("GSI6SK")


def test_friday_afternoon_critical_ticket_is_due_monday_morning(office):
    office.at(berlin(2026, 11, 27, 16, 30))  # Friday, half an hour before closing
    ticket = office.ticket()
    sla = ticket.sla
    assert sla.policy_id is not None and sla.business_hours
    assert near(sla.first_reply.due, berlin(2026, 11, 27, 16, 45))
    assert near(sla.resolution.due, berlin(2026, 11, 30, 9, 30))  # Monday 09:30
    view = sla_view(sla, berlin(2026, 11, 27, 16, 31))
    assert view["state"] == "green" and not view["first_reply_breached"]
    assert 13 * 60 < view["first_reply_left_seconds"] <= 14 * 60
    # The next check in the due index: the first-reply warning at 80 % (12 minutes).
    assert near(sla.next_check, berlin(2026, 11, 27, 16, 42))
    assert _indexed(office, ticket.id).endswith(f"#{keys.pad(ticket.id)}#first_reply.warning#v1")


def test_a_ticket_across_the_berlin_dst_change(office):
    office.at(berlin(2026, 3, 27, 16, 30))  # Friday before clocks go forward on Sunday
    ticket = office.ticket()
    assert near(ticket.sla.resolution.due, berlin(2026, 3, 30, 9, 30))  # CEST, UTC+2
    assert ticket.sla.resolution.due.hour == 7  # 07:30 UTC, an hour earlier than in winter
    office.at(berlin(2026, 10, 23, 16, 30))  # and back on the last Sunday of October
    assert near(office.ticket().sla.resolution.due, berlin(2026, 10, 26, 9, 30))


def test_a_public_holiday_is_skipped(desk):
    desk.calendar(holiday_country="DE")  # 2026-12-25 and 26 are German public holidays
    desk.policy(name="Critical", priority_ids=[CRITICAL], resolution_minutes=60)
    desk.at(berlin(2026, 12, 24, 16, 30))  # Thursday; Friday is Christmas Day
    ticket = desk.ticket()
    assert near(ticket.sla.resolution.due, berlin(2026, 12, 28, 9, 30))


def test_own_holidays_yearly_and_dated(desk):
    desk.calendar(holidays=[{"yearly": "11-30", "name": "Founders' day"},
                            {"date": "2026-12-01"}])
    desk.policy(name="Critical", priority_ids=[CRITICAL], resolution_minutes=60)
    desk.at(berlin(2026, 11, 27, 16, 30))
    assert near(desk.ticket().sla.resolution.due, berlin(2026, 12, 2, 9, 30))


def test_calendar_time_policy_ignores_the_office_hours(desk):
    desk.calendar()
    desk.policy(name="24/7 critical", priority_ids=[CRITICAL], first_reply_minutes=15,
                resolution_minutes=60, business_hours=False)
    desk.at(berlin(2026, 11, 27, 16, 30))
    ticket = desk.ticket()
    assert near(ticket.sla.resolution.due, berlin(2026, 11, 27, 17, 30))
    assert not ticket.sla.business_hours


def test_waiting_for_the_customer_pauses_and_his_reply_resumes(office):
    office.at(berlin(2026, 11, 23, 10, 0))  # Monday
    ticket = office.ticket()
    office.at(berlin(2026, 11, 23, 10, 10))
    office.reply(ticket.id, "Which printer?")  # first reply met after 10 minutes
    paused = office.update(ticket.id, status_id="pending")
    assert paused.sla.resolution.due is None and paused.sla.next_check is None
    assert _indexed(office, ticket.id) is None  # out of the due index while paused
    assert paused.sla.resolution.left_seconds == pytest.approx(50 * 60, abs=1)
    office.at(berlin(2026, 11, 23, 15, 0))  # five hours later: still 50 minutes left
    view = sla_view(office.get(ticket.id).sla, office.clock.now)
    assert view["paused"] and view["resolution_left_seconds"] == 50 * 60
    assert view["state"] == "green"
    office.customer_writes(ticket.id, "The one on floor 2")
    resumed = office.get(ticket.id)
    assert resumed.status_id == "open"  # his answer brings it back to work
    assert resumed.sla.paused_since is None
    assert near(resumed.sla.resolution.due, berlin(2026, 11, 23, 15, 50))
    assert _indexed(office, ticket.id) is not None


def test_on_hold_pauses_too(office):
    office.at(berlin(2026, 11, 23, 10, 0))
    ticket = office.ticket()
    held = office.update(ticket.id, status_id="on_hold")
    assert held.sla.paused_since is not None and held.sla.next_check is None


def test_priority_change_midway_recomputes_the_due_times(office):
    office.at(berlin(2026, 11, 23, 10, 0))
    ticket = office.ticket(priority=NORMAL)
    assert near(ticket.sla.first_reply.due, berlin(2026, 11, 23, 11, 0))
    assert near(ticket.sla.resolution.due, berlin(2026, 11, 24, 10, 0))  # 7 h today, 1 h Tue
    office.at(berlin(2026, 11, 23, 10, 20))
    raised = office.update(ticket.id, priority_id=CRITICAL)
    # Critical counts from the same start: reply by 10:15 (already missed), resolve by 11:00.
    assert near(raised.sla.first_reply.due, berlin(2026, 11, 23, 10, 15))
    assert near(raised.sla.resolution.due, berlin(2026, 11, 23, 11, 0))
    assert raised.sla.version == ticket.sla.version + 1
    # Both the warning (10:12) and the target are past: due for the scheduler right now.
    assert raised.sla.next_check < office.clock.now
    assert sla_view(raised.sla, office.clock.now)["state"] == "orange"


def test_priority_change_counts_paused_time_out(office):
    office.at(berlin(2026, 11, 23, 10, 0))
    ticket = office.ticket(priority=NORMAL)
    office.at(berlin(2026, 11, 23, 10, 5))
    office.update(ticket.id, status_id="pending")
    office.at(berlin(2026, 11, 23, 12, 5))
    office.update(ticket.id, status_id="open")  # two hours paused
    raised = office.update(ticket.id, priority_id=CRITICAL)
    assert near(raised.sla.resolution.due, berlin(2026, 11, 23, 13, 0))


def test_sla_date_overrides_the_resolution_due_time(office):
    office.at(berlin(2026, 11, 23, 10, 0))
    ticket = office.ticket()
    agreed = berlin(2026, 11, 25, 12, 0)
    changed = office.update(ticket.id, sla_date=agreed.isoformat())
    assert changed.sla.resolution.due == agreed
    assert near(changed.sla.first_reply.due, berlin(2026, 11, 23, 10, 15))  # unchanged


def test_a_ticket_without_a_matching_policy_has_no_timers_but_figures(office):
    office.at(berlin(2026, 11, 23, 10, 0))
    ticket = office.ticket(priority=1)  # Low: no policy
    assert ticket.sla.policy_id is None and ticket.sla.next_check is None
    assert sla_view(ticket.sla, office.clock.now)["state"] is None
    office.at(berlin(2026, 11, 23, 11, 0))
    replied = office.reply(ticket.id)
    figures = office.get(replied.ticket_id).sla.figures
    assert figures.first_reply_calendar_seconds == pytest.approx(3600, abs=1)
    assert figures.first_reply_working_seconds == pytest.approx(3600, abs=1)


def test_first_reply_and_resolution_figures_in_working_and_calendar_time(office):
    office.at(berlin(2026, 11, 27, 16, 30))  # Friday
    ticket = office.ticket()
    office.at(berlin(2026, 11, 30, 9, 10))  # Monday
    office.reply(ticket.id)
    replied = office.get(ticket.id)
    figures = replied.sla.figures
    assert figures.first_reply_working_seconds == pytest.approx(40 * 60, abs=1)
    assert figures.first_reply_calendar_seconds == pytest.approx(64 * 3600 + 40 * 60, abs=1)
    assert replied.sla.first_reply.met_at is not None and replied.sla.first_reply.due is None
    office.at(berlin(2026, 11, 30, 10, 0))
    closed = office.update(ticket.id, status_id="closed")
    assert closed.sla.figures.resolution_working_seconds == pytest.approx(90 * 60, abs=1)
    assert closed.sla.next_check is None and _indexed(office, ticket.id) is None
    view = sla_view(closed.sla, office.clock.now)
    assert view["figures"]["resolution_working_seconds"] == pytest.approx(90 * 60, abs=1)
    assert view["state"] == "red"  # resolved after Monday 09:30: too late
    assert view["resolution_breached"] and "sla_resolution_breached" in closed.tags


def test_reopening_runs_the_resolution_clock_again_without_the_closed_time(office):
    office.at(berlin(2026, 11, 23, 10, 0))
    ticket = office.ticket()
    office.at(berlin(2026, 11, 23, 10, 5))
    office.reply(ticket.id)
    office.at(berlin(2026, 11, 23, 10, 30))
    office.update(ticket.id, status_id="closed")
    office.at(berlin(2026, 11, 24, 10, 0))  # the next day the customer writes again
    office.customer_writes(ticket.id, "It is burning again")
    reopened = office.get(ticket.id)
    assert reopened.status_id == "open" and reopened.sla.resolution.met_at is None
    assert near(reopened.sla.resolution.due, berlin(2026, 11, 24, 10, 30))  # 30 min were left


def test_automatic_replies_do_not_meet_the_first_reply_target(office):
    office.at(berlin(2026, 11, 23, 10, 0))
    ticket = office.ticket()
    tickets = office.helpdesk.tickets
    from helpdesk.changes import TicketChange
    from helpdesk.models import Actor, ActorType

    def rule_reply(current):
        change = TicketChange()
        tickets.staff_post(current, change, "We got it", None)
        return change

    tickets.change_by_rules(ticket.id, "updated", rule_reply,
                            Actor(type=ActorType.RULE, name="ack"))
    assert office.get(ticket.id).sla.first_reply.met_at is None


def test_the_breach_tag_cannot_be_removed(office):
    office.at(berlin(2026, 11, 23, 10, 0))
    ticket = office.ticket()
    office.at(berlin(2026, 11, 23, 10, 16))
    from helpdesk.sla.escalation import Escalations, due_checks

    (check, *_) = [c for c in due_checks(office.helpdesk.repository, office.clock.now).checks
                   if c.ticket_id == ticket.id]
    Escalations(office.helpdesk).escalate(check)
    assert BREACH_TAGS[check.target] in office.get(ticket.id).tags
    with pytest.raises(InvalidInput, match=r"sla_first_reply_breached.*cannot be removed"):
        office.update(ticket.id, tags=["vip"])
    kept = office.update(ticket.id, tags=["vip", "sla_first_reply_breached"])
    assert kept.tags == ["vip", "sla_first_reply_breached"]


def test_the_working_hours_rule_condition_asks_the_tickets_calendar(office):
    from helpdesk.rules.model import RuleFields
    from helpdesk.rules.runner import RuleRunner

    office.helpdesk.rules.create(office.admin, RuleFields.model_validate({
        "name": "After hours", "kind": "new",
        "all": [{"field": "working_hours", "op": "is", "value": False}],
        "actions": [{"type": "add_tags", "value": ["after_hours"]}]}))
    runner = RuleRunner(office.helpdesk)
    office.at(berlin(2026, 11, 28, 11, 0))  # Saturday
    weekend = office.ticket()
    runner.on_event(weekend.id, 1)
    office.at(berlin(2026, 11, 30, 11, 0))  # Monday morning
    monday = office.ticket()
    runner.on_event(monday.id, 1)
    assert "after_hours" in office.get(weekend.id).tags
    assert "after_hours" not in office.get(monday.id).tags


def test_a_stale_settings_cache_elsewhere_never_undoes_a_newer_policy(office):
    """Another container (here: a second helpdesk on the same table) cached the settings
    before the policy changed; its next write of the ticket must not time it by the old."""
    from helpdesk.inputs import TicketUpdate
    from helpdesk.service import Helpdesk

    other = Helpdesk(office.helpdesk.table, clock=office.clock)
    other.sla_settings.policies()  # cached now, before the change below
    office.at(berlin(2026, 11, 23, 10, 0))
    critical = office.helpdesk.sla_settings.policies()[0]
    office.helpdesk.sla_policies.update(office.admin, critical.id, {"resolution_minutes": 120})
    ticket = office.ticket()
    assert near(ticket.sla.resolution.due, berlin(2026, 11, 23, 12, 0))
    admin = other.users.authenticate("admin@example.com", "admin-secret-key")
    changed = other.tickets.update(admin, ticket.id, TicketUpdate(tags=["vip"]))
    assert near(changed.sla.resolution.due, berlin(2026, 11, 23, 12, 0))


def test_a_ticket_from_before_sla_tracking_starts_its_clock_at_its_next_change(office):
    office.at(berlin(2026, 11, 23, 10, 0))
    ticket = office.ticket()
    table = office.helpdesk.repository.table
    from helpdesk.store.ticket_records import ticket_item

    legacy = ticket.model_copy(update={"sla": None})  # as stored before this release
    table.put(ticket_item(legacy))
    office.at(berlin(2026, 11, 25, 10, 0))  # two days later someone touches it
    touched = office.update(ticket.id, tags=["old"])
    assert near(touched.sla.first_reply.due, berlin(2026, 11, 25, 10, 15))
    assert not touched.sla.first_reply.breached
