"""Due checks and escalations on the in-memory helpdesk: what the scheduler reads, what a
missed target does to the ticket, who hears of it, and that a repeat does nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from helpdesk.models import Ticket
from helpdesk.sla.escalation import Check, Escalations, due_checks
from helpdesk.sla.model import Stage, Target
from helpdesk.store.memory import MemoryTable
from helpdesk.store.repository import Repository
from helpdesk.store.table import QueryRequest
from helpdesk.store.ticket_records import ticket_item
from tests.sla.conftest import CRITICAL, berlin


def _due(desk: Any) -> list[Check]:
    return due_checks(desk.helpdesk.repository, desk.clock.now).checks


def _escalate_due(desk: Any) -> list[Any]:
    return [Escalations(desk.helpdesk).escalate(c) for c in _due(desk)]


def _sla_events(desk: Any, ticket_id: int) -> list[Any]:
    events = desk.helpdesk.repository.tickets.events(ticket_id)
    return [e for e in events if e.kind.startswith("sla_")]


def _team(desk: Any) -> tuple[Any, Any]:
    owner = desk.agent("owner@example.com")
    manager = desk.agent("boss@example.com")
    desk.helpdesk.dictionaries.update_department(desk.admin, 1, None, [manager.id])
    return owner, manager


def test_a_missed_reply_target_tags_audits_and_notifies_once(office):
    owner, manager = _team(office)
    office.at(berlin(2026, 11, 23, 10, 0))
    ticket = office.ticket(owner_id=owner.id)
    office.at(berlin(2026, 11, 23, 10, 13))  # past the 80 % warning, before the target
    (warning,) = _due(office)
    assert (warning.target, warning.stage) == (Target.FIRST_REPLY, Stage.WARNING)
    warned = Escalations(office.helpdesk).escalate(warning)
    assert warned.status == "escalated"
    assert {n["effect"]["notification"]["to"][0] for n in warned.notices} == {
        "owner@example.com", "boss@example.com"}
    assert "SLA warning" in warned.notices[0]["effect"]["notification"]["subject"]
    assert office.get(ticket.id).tags == []  # a warning tags nothing
    assert _due(office) == []  # the next check (the target itself) is not due yet
    office.at(berlin(2026, 11, 23, 10, 16))
    (breach,) = _due(office)
    assert breach.stage is Stage.BREACH and breach.name == f"sla-{ticket.id}-first_reply-breach-v1"
    missed = Escalations(office.helpdesk).escalate(breach)
    assert missed.status == "escalated"
    after = office.get(ticket.id)
    assert after.tags == ["sla_first_reply_breached"]
    assert after.sla.first_reply.breached and after.sla.next_check_kind == "resolution.warning"
    (event,) = [e for e in _sla_events(office, ticket.id) if e.kind == "sla_breach"]
    assert event.actor.type.value == "sla"
    assert any(c.field == "sla" and "first reply target missed" in c.new for c in event.changes)
    assert any(c.field == "tags" and c.new == ["sla_first_reply_breached"] for c in event.changes)
    keys_sent = sorted(n["effect"]["notification"]["key"] for n in missed.notices)
    assert keys_sent == sorted([f"{breach.name}-u{manager.id}", f"{breach.name}-u{owner.id}"])
    # The scheduler read it twice, a workflow retried: nothing changes, the same notice keys.
    again = Escalations(office.helpdesk).escalate(breach)
    assert again.status == "already"
    assert sorted(n["effect"]["notification"]["key"] for n in again.notices) == keys_sent
    assert len(_sla_events(office, ticket.id)) == 2
    assert office.get(ticket.id).version == after.version


def test_a_reply_in_time_makes_the_check_stale(office):
    office.at(berlin(2026, 11, 23, 10, 0))
    ticket = office.ticket()
    office.at(berlin(2026, 11, 23, 10, 13))
    (warning,) = _due(office)
    office.reply(ticket.id)  # answered before the warning ran
    assert Escalations(office.helpdesk).escalate(warning).status == "stale"
    assert _sla_events(office, ticket.id) == []


def test_a_late_warning_is_the_breach_and_notifies_once(office):
    _team(office)
    office.at(berlin(2026, 11, 23, 10, 0))
    ticket = office.ticket()
    office.at(berlin(2026, 11, 23, 10, 30))  # the scheduler was behind: target already missed
    (only,) = _due(office)
    assert only.stage is Stage.WARNING
    outcome = Escalations(office.helpdesk).escalate(only)
    assert outcome.status == "escalated" and "SLA missed" in outcome.notices[0]["effect"][
        "notification"]["subject"]
    assert [e.kind for e in _sla_events(office, ticket.id)] == ["sla_breach"]


def test_a_stale_version_does_nothing(office):
    office.at(berlin(2026, 11, 23, 10, 0))
    ticket = office.ticket()
    office.at(berlin(2026, 11, 23, 10, 16))
    (check,) = _due(office)
    office.update(ticket.id, sla_date=berlin(2026, 12, 1, 12, 0).isoformat())  # due moved
    assert Escalations(office.helpdesk).escalate(check).status == "stale"


def test_breach_raises_priority_and_notifies_chosen_people_and_channels(desk):
    desk.calendar()
    chosen = desk.agent("duty@example.com")
    desk.policy(name="Normal", priority_ids=[2, CRITICAL], first_reply_minutes=60,
                escalation={"notify": [chosen.id], "raise_priority_to": CRITICAL,
                            "slack_url": "https://hooks.slack.com/services/T/B/X",
                            "warn_at_percent": None})
    desk.at(berlin(2026, 11, 23, 10, 0))
    ticket = desk.ticket(priority=2)
    desk.at(berlin(2026, 11, 23, 11, 1))
    (outcome,) = _escalate_due(desk)
    assert desk.get(ticket.id).priority_id == CRITICAL
    kinds = sorted((n["effect"]["notification"]["kind"], tuple(n["effect"]["notification"][
        "to"])) for n in outcome.notices)
    assert kinds == [("email", ("duty@example.com",)), ("slack", ())]


def test_the_department_means_its_active_agents(desk):
    desk.calendar()
    first, second = desk.agent("a1@example.com"), desk.agent("a2@example.com")
    desk.policy(name="Critical", priority_ids=[CRITICAL], first_reply_minutes=15,
                escalation={"notify": ["department"], "warn_at_percent": None})
    desk.at(berlin(2026, 11, 23, 10, 0))
    desk.ticket()
    desk.at(berlin(2026, 11, 23, 10, 16))
    (outcome,) = _escalate_due(desk)
    assert sorted(n["effect"]["notification"]["to"][0] for n in outcome.notices) == [
        first.email, second.email]


def test_notices_wait_for_working_hours_when_the_policy_says_so(desk):
    desk.calendar()
    night_owl = desk.agent("owl@example.com")
    desk.calendar(name="Owl", scope="agent", agent_id=night_owl.id, always_open=True, hours=[])
    sleeper = desk.agent("sleeper@example.com")
    desk.policy(name="Critical", priority_ids=[CRITICAL], resolution_minutes=60,
                business_hours=False,
                escalation={"notify": [night_owl.id, sleeper.id],
                            "hold_until_working_hours": True, "warn_at_percent": None})
    desk.at(berlin(2026, 11, 28, 1, 0))  # Saturday night
    desk.ticket()
    desk.at(berlin(2026, 11, 28, 2, 1))
    (outcome,) = _escalate_due(desk)
    held = {n["effect"]["notification"]["to"][0]: n.get("send_at") for n in outcome.notices}
    assert held == {"owl@example.com": None,  # works 24/7: told now
                    "sleeper@example.com": "2026-11-30T08:00:00Z"}  # Monday 09:00 Berlin


class CountingTable(MemoryTable):
    """Counts the items queries return: what DynamoDB would bill as read."""

    def __init__(self) -> None:
        super().__init__()
        self.items_returned = 0

    def query(self, request: QueryRequest) -> Any:
        page = super().query(request)
        self.items_returned += len(page.items)
        return page


def _open_tickets(table: MemoryTable, count: int, due: int, now: datetime,
                  template: Ticket) -> None:
    """`count` open tickets whose SLA checks lie ahead, and `due` whose checks are due."""
    for number in range(1, count + 1):
        ticket = template.model_copy(deep=True)
        ticket.id, ticket.unique_id = number, f"HD-{number}"
        assert ticket.sla is not None
        late = number <= due
        ticket.sla.next_check = now - timedelta(minutes=1) if late else now + timedelta(
            minutes=number)
        table.put(ticket_item(ticket))


def test_the_scheduler_reads_only_what_is_due_whatever_the_open_tickets(office):
    office.at(berlin(2026, 11, 23, 10, 0))
    template = office.ticket()
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    read = {}
    for open_tickets in (1_000, 50_000):
        table = CountingTable()
        _open_tickets(table, open_tickets, 10, now, template)
        table.items_returned = 0
        scan = due_checks(Repository(table), now)
        assert len(scan.checks) == 10 and {c.ticket_id for c in scan.checks} == set(range(1, 11))
        read[open_tickets] = (scan.items_read, table.items_returned)
    assert read[1_000] == read[50_000] == (10, 10)


def test_a_policy_changed_since_the_ticket_was_timed_is_applied_at_its_check(office):
    office.at(berlin(2026, 11, 23, 10, 0))
    ticket = office.ticket()
    critical = office.helpdesk.sla_settings.policies()[0]
    office.helpdesk.sla_policies.update(office.admin, critical.id,
                                        {"first_reply_minutes": 30})
    office.at(berlin(2026, 11, 23, 10, 16))  # past the old 15 minutes, within the new 30
    assert [Escalations(office.helpdesk).escalate(c).status for c in _due(office)] == ["stale"]
    retimed = office.get(ticket.id)
    assert "sla_first_reply_breached" not in retimed.tags
    assert abs(retimed.sla.first_reply.due - berlin(2026, 11, 23, 10, 30)) < timedelta(seconds=1)
    (event,) = _sla_events(office, ticket.id)
    assert event.kind == "sla_retimed" and "recomputed" in event.changes[0].new
    assert _due(office) == []  # its next check (the new warning at 10:24) lies ahead
