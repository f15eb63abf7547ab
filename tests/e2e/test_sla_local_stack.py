"""SLA on `make run` over real HTTP, with the stack's controllable clock: an admin sets a
calendar, a policy and the department's manager; a critical ticket's reply target passes
unanswered; the scheduler's tick starts the real sla_escalation workflow, which tags the
ticket, writes the audit entry and mails the assignee and the manager, exactly once however
often the scheduler runs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests

from devstack.process import start_stack
from tests.support.live import session, wait_for

ADMIN = ("e2e-sla-admin@example.com", "e2e-sla-admin-key")
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack() -> Iterator[dict]:
    started = start_stack(ADMIN)
    yield {**started.ready, "base": started.base}
    started.stop()


def _tick(base: str) -> dict:
    answer = requests.post(f"{base}/_local/tick", timeout=60)
    assert answer.status_code == 200, answer.text
    return answer.json()["ran"]["SlaSchedulerFunction"]


RUN = uuid.uuid4().hex[:8]  # the outbox folder outlives a stack: tell this run's mail apart
OWNER, BOSS = f"olga-{RUN}@example.com", f"boris-{RUN}@example.com"


def _sla_mail(base: str) -> list[dict]:
    messages = requests.get(f"{base}/_local/outbox", timeout=10).json()["messages"]
    return [m for m in messages if m["subject"].startswith("SLA missed")
            and m["to"][0] in (OWNER, BOSS)]


def test_a_missed_reply_target_notifies_tags_and_audits_exactly_once(stack):
    api, base = stack["api_url"], stack["base"]
    admin = session(*ADMIN)

    def ok(answer: requests.Response) -> dict:
        assert answer.status_code == 200, answer.text
        return answer.json()["data"]

    owner = ok(admin.post(f"{api}/users/", json={
        "name": "Olga", "email": OWNER, "group_id": 2, "department": [1]},
        timeout=30))
    boss = ok(admin.post(f"{api}/users/", json={
        "name": "Boris", "email": BOSS, "group_id": 2, "department": [1]},
        timeout=30))
    ok(admin.put(f"{api}/departments/1", json={"managers": [boss["id"]]}, timeout=30))
    calendar = ok(admin.post(f"{api}/calendars/", json={
        "name": "Round the clock", "timezone": "Europe/Moscow", "always_open": True},
        timeout=30))
    ok(admin.post(f"{api}/sla_policies/", json={
        "name": "Critical", "priority_ids": [4], "first_reply_minutes": 15,
        "resolution_minutes": 60, "calendar_id": calendar["id"],
        "escalation": {"notify": ["assignee", "department_managers"],
                       "warn_at_percent": None}}, timeout=30))
    ticket = ok(admin.post(f"{api}/tickets/", json={
        "title": "Server down", "description": "Nothing works", "user_email": "c@example.com",
        "priority_id": 4, "owner_id": owner["id"]}, timeout=30))
    sla = ticket["sla"]
    assert sla["state"] == "green" and sla["first_reply_left_seconds"] > 14 * 60
    assert _tick(base)["due"] == 0  # nothing is due yet

    clock = requests.post(f"{base}/_local/clock", json={"advance_seconds": 16 * 60}, timeout=10)
    assert clock.status_code == 200 and clock.json()["offset_seconds"] == 16 * 60
    ran = _tick(base)
    assert (ran["due"], ran["started"], ran["items_read"]) == (1, 1, 1)

    def tagged() -> dict | None:
        current = ok(admin.get(f"{api}/tickets/{ticket['id']}", timeout=10))
        return current if "sla_first_reply_breached" in current["tags"] else None

    breached = wait_for(tagged, 60)
    assert breached, "the breach tag never came"
    assert breached["sla"]["state"] == "orange" and breached["sla"]["first_reply_breached"]
    mails = wait_for(lambda: len(_sla_mail(base)) >= 2 and _sla_mail(base), 60)
    assert sorted(m["to"][0] for m in mails) == [BOSS, OWNER]
    assert all(m["subject"].startswith(f"SLA missed: first reply of {ticket['unique_id']}")
               for m in mails)

    for _ in range(3):  # the scheduler keeps ticking: nothing more happens
        assert _tick(base)["started"] == 0
    runs = requests.get(f"{base}/_local/executions", timeout=10).json()["executions"]
    escalations = [r for r in runs if r["name"].startswith(f"sla-{ticket['id']}-")]
    assert [(r["name"], r["status"]) for r in escalations] == [
        (f"sla-{ticket['id']}-first_reply-breach-v1", "SUCCEEDED")]
    assert len(_sla_mail(base)) == 2
    audit = ok(admin.get(f"{api}/tickets/{ticket['id']}/audit", timeout=10))
    sla_rows = [row for row in audit if row["actor_type"] == "sla" and row["field"] == "sla"]
    assert len(sla_rows) == 1 and "first reply target missed" in sla_rows[0]["new_value"]

    refused = admin.put(f"{api}/tickets/{ticket['id']}", json={"tags": []}, timeout=10)
    assert refused.status_code == 400
    assert "sla_first_reply_breached" in refused.json()["errors"][0]["details"]


def test_the_clock_endpoint_refuses_nonsense(stack):
    answer = requests.post(f"{stack['base']}/_local/clock", json={"advance": "soon"}, timeout=10)
    assert answer.status_code == 400 and "advance_seconds" in answer.text
    reset = requests.post(f"{stack['base']}/_local/clock", json={"offset_seconds": 0},
                          timeout=10).json()
    assert abs(datetime.fromisoformat(reset["now"]) - datetime.now(UTC)) < timedelta(seconds=5)
