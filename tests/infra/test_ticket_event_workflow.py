"""The stack from the template on the embedded AWS: the table as declared, and the
ticket_event workflow running end to end from the table's stream."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from devstack.aws import EmbeddedAws, StackInfo, deploy_stack


@pytest.fixture(scope="module")
def deployed() -> Iterator[tuple[EmbeddedAws, StackInfo]]:
    aws = EmbeddedAws().start()
    try:
        yield aws, deploy_stack(aws, stack_name="workflow-test")
    finally:
        aws.stop()


def _event_item(ticket_id: int, version: int) -> dict[str, Any]:
    return {
        "PK": {"S": f"TICKET#{ticket_id:012}"}, "SK": {"S": f"EVENT#{version:012}"},
        "item_type": {"S": "ticket_event"}, "event_id": {"S": f"{ticket_id}-{version}"},
        "ticket_id": {"N": str(ticket_id)}, "version": {"N": str(version)},
        "kind": {"S": "created"}, "workflow_status": {"S": "PENDING"},
    }


def _status_after(aws: EmbeddedAws, table: str, item: dict[str, Any]) -> dict[str, Any]:
    client = aws.client("dynamodb")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = client.get_item(TableName=table, Key={"PK": item["PK"], "SK": item["SK"]})["Item"]
        if found["workflow_status"]["S"] != "PENDING":
            return found
        time.sleep(0.1)
    raise AssertionError("the workflow never recorded an outcome")


def test_table_is_created_as_the_template_declares(deployed):
    aws, stack = deployed
    table = aws.client("dynamodb").describe_table(TableName=stack.table_name)["Table"]
    assert sorted(i["IndexName"] for i in table["GlobalSecondaryIndexes"]) == [
        "GSI1", "GSI2", "GSI3", "GSI4", "GSI5"]
    assert table["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    ttl = aws.client("dynamodb").describe_time_to_live(TableName=stack.table_name)
    assert ttl["TimeToLiveDescription"]["AttributeName"] == "expires_at"
    assert stack.schedules == {"SlaSchedulerFunction": 60}


def test_an_event_item_runs_the_workflow_once(deployed):
    aws, stack = deployed
    item = _event_item(41, 1)
    aws.client("dynamodb").put_item(TableName=stack.table_name, Item=item)
    recorded = _status_after(aws, stack.table_name, item)
    assert recorded["workflow_status"]["S"] == "SUCCEEDED"
    assert recorded["rules_evaluated"]["N"] == "0"
    machine = stack.state_machine_arns["TicketEventStateMachine"]
    # The same record delivered again (here: the item written again) starts nothing new.
    aws.client("dynamodb").put_item(TableName=stack.table_name, Item=item)
    time.sleep(0.5)
    runs = aws.client("stepfunctions").list_executions(stateMachineArn=machine)["executions"]
    assert [r["name"] for r in runs if r["name"] == "ticket-41-v1"] == ["ticket-41-v1"]


def test_a_failing_rules_function_marks_the_event_failed(deployed, monkeypatch):
    import helpdesk.automation

    def broken(event: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("rule store unavailable")

    monkeypatch.setattr(helpdesk.automation, "evaluate_rules", broken)
    import rules.handler

    monkeypatch.setattr(rules.handler, "evaluate_rules", broken)
    aws, stack = deployed
    item = _event_item(42, 1)
    aws.client("dynamodb").put_item(TableName=stack.table_name, Item=item)
    recorded = _status_after(aws, stack.table_name, item)
    assert recorded["workflow_status"]["S"] == "FAILED"
    assert recorded["workflow_error"]["S"] == "RuntimeError"
