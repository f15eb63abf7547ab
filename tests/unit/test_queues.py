"""Which queues a ticket is in (helpdesk/queues.py): decided from the ticket alone."""

from __future__ import annotations

from datetime import UTC, datetime

from helpdesk.models import Ticket
from helpdesk.queues import FOLLOWERS_QUEUED, TAGS_QUEUED, global_memberships, memberships
from helpdesk.sla.model import TargetState, TicketSla

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _ticket(**fields) -> Ticket:
    return Ticket(id=1, unique_id="HD-1", title="t", department_id=2, user_id=5, **fields)


def test_a_ticket_is_in_its_queues_globally_and_in_its_department():
    ticket = _ticket(owner_id=9, organization_id=4, source="email", tags=["vip"],
                     followers=[7], mentioned=[8])
    names = {"all", "status:open", "owner:9", "customer:5", "org:4", "source:email",
             "tag:vip", "follower:7", "mention:8"}
    assert memberships(ticket, closed=False) == names | {f"{n}@d2" for n in names}


def test_unassigned_means_no_owner_and_not_closed():
    assert "unassigned" in global_memberships(_ticket(), closed=False)
    assert "unassigned" not in global_memberships(_ticket(), closed=True)
    assert "unassigned" not in global_memberships(_ticket(owner_id=3), closed=False)


def test_trash_and_spam_are_the_only_queue_of_such_a_ticket():
    assert memberships(_ticket(trashed=True, spam=True), closed=False) == {"trash", "trash@d2"}
    assert memberships(_ticket(spam=True), closed=False) == {"spam", "spam@d2"}


def test_sla_colour_red_over_orange_over_green_and_none_when_met_or_paused():
    running = TargetState(due=T0)
    assert "sla:green" in global_memberships(_ticket(sla=TicketSla(first_reply=running)),
                                             closed=False)
    warned = TicketSla(first_reply=TargetState(due=T0, warned=True), resolution=running)
    assert "sla:orange" in global_memberships(_ticket(sla=warned), closed=False)
    breached = TicketSla(first_reply=TargetState(due=T0, warned=True),
                         resolution=TargetState(due=T0, breached=True))
    assert "sla:red" in global_memberships(_ticket(sla=breached), closed=False)
    met = TicketSla(first_reply=TargetState(due=T0, breached=True, met_at=T0))
    paused = TicketSla(first_reply=running, paused_since=T0)
    for sla in (met, paused, None):
        assert not any(n.startswith("sla:") for n in global_memberships(_ticket(sla=sla),
                                                                        closed=False))


def test_open_ended_kinds_are_bounded_so_a_change_fits_one_transaction():
    ticket = _ticket(tags=[f"t{n}" for n in range(30)], followers=list(range(10, 30)),
                     mentioned=list(range(40, 60)))
    names = global_memberships(ticket, closed=False)
    assert sum(n.startswith("tag:") for n in names) == TAGS_QUEUED
    assert sum(n.startswith("follower:") for n in names) == FOLLOWERS_QUEUED
    assert {n for n in names if n.startswith("mention:")} == {"mention:57", "mention:58",
                                                              "mention:59"}
    assert len(memberships(ticket, closed=False)) <= 42
