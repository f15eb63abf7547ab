"""sla_escalation.asl.json on the embedded AWS with the real Lambdas: the scheduler function
reads the due index and starts one named run, which applies the check and sends the notice
through the effects Lambda, after waiting until the recipient's working hours.

The functions' clock is the local stack's offset clock set a day back, so a notice held
"until working hours" has a send time that real time (which the Wait state uses) has
already passed: the Wait runs, and the test does not."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from devstack.aws import EmbeddedAws, StackInfo
from devstack.outbox import verify_sender
from helpdesk.aws.clock import OffsetClock
from helpdesk.inputs import TicketCreate, UserCreate
from helpdesk.service import Helpdesk
from helpdesk.sla.model import CalendarFields, PolicyFields
from helpdesk.store.dynamo import DynamoTable
from helpdesk.store.keys import notification_sent

DAY = 86_400.0


def _forget_built_handlers() -> None:
    """Handlers build their helpdesk once per process (a Lambda container); those built for
    another stack or clock must go, before and after this test."""
    for name, module in list(sys.modules.items()):
        if name.endswith(".handler") and (Path(module.__file__ or "").parent.parent.name
                                          == "functions"):
            for value in vars(module).values():
                if callable(getattr(value, "cache_clear", None)):
                    value.cache_clear()


def _settled(aws: EmbeddedAws, stack: StackInfo, timeout: float = 30) -> None:
    """Every workflow run of the stack has finished (none rebuilds a handler afterwards)."""
    aws.wait_for_streams(timeout)
    stepfunctions = aws.client("stepfunctions")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(
            stepfunctions.list_executions(stateMachineArn=arn, statusFilter="RUNNING")[
                "executions"] for arn in stack.state_machine_arns.values()):
        time.sleep(0.1)


@pytest.fixture
def clock(aws: EmbeddedAws, stack: StackInfo, tmp_path: Path) -> Iterator[OffsetClock]:
    _forget_built_handlers()
    offset = OffsetClock(tmp_path / "clock.json")
    offset.set_offset(-DAY)
    aws.set_environment({"HELPDESK_CLOCK_FILE": str(offset.path)})
    yield offset
    _settled(aws, stack)
    aws.set_environment({"HELPDESK_CLOCK_FILE": None})
    _forget_built_handlers()


def _tick(aws: EmbeddedAws, stack: StackInfo) -> dict:
    answer = aws.client("lambda").invoke(FunctionName=stack.function_names[
        "SlaSchedulerFunction"], Payload=b"{}")
    assert "FunctionError" not in answer, answer["Payload"].read()
    return json.loads(answer["Payload"].read())


def test_a_due_check_runs_once_and_its_notice_waits_for_working_hours(aws, stack, clock):
    verify_sender(aws.client("sesv2"), "example.com")
    desk = Helpdesk(DynamoTable(aws.client("dynamodb"), stack.table_name), clock=clock)
    desk.bootstrap("admin@example.com", "infra-admin-key")
    admin = desk.users.authenticate("admin@example.com", "infra-admin-key")
    agent, _ = desk.users.create(admin, UserCreate(name="Ann", email="ann@example.com",
                                                   group_id=2, department=[1]))
    # Ann works one hour a day, starting an hour after the check will run (every weekday).
    opens = (clock() + timedelta(minutes=16 + 60)).replace(second=0, microsecond=0)
    start, end = opens.strftime("%H:%M"), (opens + timedelta(hours=1)).strftime("%H:%M")
    desk.calendars.create(admin, CalendarFields.model_validate({
        "name": "Ann", "scope": "agent", "agent_id": agent.id, "timezone": "UTC",
        "hours": [{"day": d, "start": start, "end": end}
                  for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")]}))
    desk.sla_policies.create(admin, PolicyFields.model_validate({
        "name": "Critical", "priority_ids": [4], "first_reply_minutes": 15,
        "business_hours": False,
        "escalation": {"notify": ["assignee"], "hold_until_working_hours": True,
                       "warn_at_percent": None}}))
    ticket = desk.tickets.create(admin, TicketCreate(
        title="Down", user_email="c@example.com", priority_id=4, owner_id=agent.id))
    assert _tick(aws, stack)["due"] == 0

    clock.set_offset(-DAY + 16 * 60)  # the reply target passed a minute ago
    ran = _tick(aws, stack)
    assert (ran["due"], ran["started"]) == (1, 1)
    stepfunctions = aws.client("stepfunctions")
    machine = stack.state_machine_arns["SlaEscalationStateMachine"]
    name = f"sla-{ticket.id}-first_reply-breach-v1"

    def finished() -> dict | None:
        runs = [r for r in stepfunctions.list_executions(stateMachineArn=machine)["executions"]
                if r["name"] == name]
        return runs[0] if runs and runs[0]["status"] != "RUNNING" else None

    deadline = time.monotonic() + 30
    while (run := finished()) is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert run is not None and run["status"] == "SUCCEEDED", run
    output = json.loads(stepfunctions.describe_execution(
        executionArn=run["executionArn"])["output"])
    (notice,) = output["applied"]["outcome"]["notices"]
    assert notice["send_at"] == opens.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert output["sent"] == [{"status": "sent", "reason": ""}]
    history = stepfunctions.get_execution_history(executionArn=run["executionArn"])["events"]
    assert any(e["type"] == "WaitStateEntered" for e in history)
    key = notice["effect"]["notification"]["key"]
    assert desk.repository.table.get(*notification_sent(key)) is not None
    assert "sla_first_reply_breached" in desk.repository.tickets.get_ticket(ticket.id).tags
    assert _tick(aws, stack)["started"] == 0  # the ticket left the due index
