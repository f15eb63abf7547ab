"""The ticket_event workflow end to end on the embedded AWS: an event item written to the
table reaches the stream handler, which starts the state machine, which runs the rules Lambda
and records the outcome on the item."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from boto3.dynamodb.types import TypeSerializer

from devstack.aws import EmbeddedAws, StackInfo

T = TypeVar("T")
_serialize = TypeSerializer().serialize


def wait_for(check: Callable[[], T | None], what: str, timeout: float = 20.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def event_item(ticket_id: int, version: int, kind: str = "created",
               **more: Any) -> dict[str, Any]:
    """An event item as the domain writes it (DynamoDB JSON)."""
    item = more | {
        "PK": f"TICKET#{ticket_id:012}", "SK": f"EVENT#{version:012}",
        "item_type": "ticket_event", "event_id": f"{ticket_id}-{version}",
        "ticket_id": ticket_id, "version": version, "kind": kind,
        "actor": {"type": "staff", "id": 1},
        "changes": [{"field": "status_id", "old": "open", "new": "closed"}],
        "at": "2026-11-23T09:00:00.000000Z", "workflow_status": "PENDING",
    }
    return {name: _serialize(value) for name, value in item.items()}


def key(item: dict[str, Any]) -> dict[str, Any]:
    return {"PK": item["PK"], "SK": item["SK"]}


def outcome(aws: EmbeddedAws, stack: StackInfo, item: dict[str, Any]) -> dict[str, Any]:
    dynamodb = aws.client("dynamodb")

    def recorded() -> dict[str, Any] | None:
        found = dynamodb.get_item(TableName=stack.table_name, Key=key(item)).get("Item")
        return found if found and found["workflow_status"]["S"] != "PENDING" else None

    return wait_for(recorded, "the workflow to record its outcome")


def executions(aws: EmbeddedAws, stack: StackInfo, name: str) -> list[dict[str, Any]]:
    runs = aws.client("stepfunctions").list_executions(
        stateMachineArn=stack.state_machine_arns["TicketEventStateMachine"])["executions"]
    return [run for run in runs if run["name"] == name]


def test_an_event_item_runs_the_workflow(aws: EmbeddedAws, stack: StackInfo):
    item = event_item(41, 1)
    aws.client("dynamodb").put_item(TableName=stack.table_name, Item=item)
    recorded = outcome(aws, stack, item)
    assert recorded["workflow_status"] == {"S": "SUCCEEDED"}
    assert recorded["rules_evaluated"] == {"N": "0"}
    assert recorded["workflow_finished_at"]["S"].startswith("20")
    (run,) = executions(aws, stack, "ticket-41-v1")
    described = aws.client("stepfunctions").describe_execution(executionArn=run["executionArn"])
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["input"]) == {
        "ticket_id": 41, "version": 1, "event_id": "41-1", "kind": "created",
        "pk": "TICKET#000000000041", "sk": "EVENT#000000000001"}


def _states_entered(aws: EmbeddedAws, stack: StackInfo, name: str) -> list[str]:
    (run,) = executions(aws, stack, name)
    history = aws.client("stepfunctions").get_execution_history(
        executionArn=run["executionArn"], maxResults=1000)["events"]
    return [event["stateEnteredEventDetails"]["name"] for event in history
            if "stateEnteredEventDetails" in event]


# An effect the event carries (a rule's webhook whose subscription is gone: skipped by the
# effects step) makes the workflow run whatever the post gives it to do.
CARRIED = [{"type": "webhook", "subscription_id": 999, "key": "x"}]


@pytest.mark.parametrize(("post_work", "delivered"), [(False, False), (True, True), (None, True)])
def test_a_post_without_work_for_the_delivery_step_skips_it(
        aws: EmbeddedAws, stack: StackInfo, post_work: bool | None, delivered: bool):
    """A customer's plain-text post (`post_work` false) costs no delivery Lambda; a staff post
    or media to fetch (true) runs it, and so does an event written before the flag existed."""
    ticket_id = {False: 61, True: 62, None: 63}[post_work]
    context = {"effects": CARRIED} | ({} if post_work is None else {"post_work": post_work})
    item = event_item(ticket_id, 2, kind="post_added", context=context)
    aws.client("dynamodb").put_item(TableName=stack.table_name, Item=item)
    assert outcome(aws, stack, item)["workflow_status"] == {"S": "SUCCEEDED"}
    states = _states_entered(aws, stack, f"ticket-{ticket_id}-v2")
    assert ("DeliverPost" in states) is delivered
    assert states[-1] == "RecordSuccess"


def test_an_event_the_workflow_has_nothing_to_do_for_starts_none_and_is_recorded_done(
        aws: EmbeddedAws, stack: StackInfo):
    """No rule, no subscription, a customer's plain text: no execution (no Step Functions
    transitions, no Lambda), the event item says it is done as the workflow would have."""
    item = event_item(64, 2, kind="post_added", context={"post_work": False})
    aws.client("dynamodb").put_item(TableName=stack.table_name, Item=item)
    recorded = outcome(aws, stack, item)
    assert recorded["workflow_status"] == {"S": "SUCCEEDED"}
    assert recorded["rules_evaluated"] == {"N": "0"}
    assert recorded["workflow"] == {"S": "not needed"}
    assert executions(aws, stack, "ticket-64-v2") == []


def test_a_redelivered_record_starts_nothing_new(aws: EmbeddedAws, stack: StackInfo):
    item = event_item(44, 3, kind="updated", context={"effects": CARRIED})
    aws.client("dynamodb").put_item(TableName=stack.table_name, Item=item)
    assert outcome(aws, stack, item)["workflow_status"] == {"S": "SUCCEEDED"}

    # The stream delivers the same INSERT again (at-least-once): same execution name.
    record = {"eventID": "redelivered", "eventName": "INSERT", "eventVersion": "1.1",
              "eventSource": "aws:dynamodb", "awsRegion": aws.region,
              "dynamodb": {"Keys": key(item), "NewImage": item, "SequenceNumber": "7",
                           "SizeBytes": 1, "StreamViewType": "NEW_AND_OLD_IMAGES"}}
    answer = aws.client("lambda").invoke(
        FunctionName=stack.function_names["StreamFunction"],
        Payload=json.dumps({"Records": [record]}).encode())
    assert "FunctionError" not in answer
    assert json.loads(answer["Payload"].read()) == {"batchItemFailures": []}

    # The item written again is a MODIFY, which starts nothing either.
    aws.client("dynamodb").put_item(TableName=stack.table_name, Item=item)
    assert aws.wait_for_streams()
    assert [run["status"] for run in executions(aws, stack, "ticket-44-v3")] == ["SUCCEEDED"]


def test_a_failing_rules_function_marks_the_event_failed(
        aws: EmbeddedAws, stack: StackInfo, monkeypatch: pytest.MonkeyPatch):
    import helpdesk.automation

    def broken(event: dict[str, Any], *args: Any) -> dict[str, Any]:
        raise RuntimeError("rule store unavailable")

    monkeypatch.setattr(helpdesk.automation, "evaluate_rules", broken)
    item = event_item(42, 1)
    aws.client("dynamodb").put_item(TableName=stack.table_name, Item=item)
    recorded = outcome(aws, stack, item)
    assert recorded["workflow_status"] == {"S": "FAILED"}
    assert recorded["workflow_error"] == {"S": "RuntimeError"}
    assert "rule store unavailable" in recorded["workflow_error_detail"]["S"]
    assert "rules_evaluated" not in recorded
    runs = wait_for(lambda: [r for r in executions(aws, stack, "ticket-42-v1")
                             if r["status"] != "RUNNING"], "the execution to end")
    assert [run["status"] for run in runs] == ["FAILED"]


def test_a_committed_transaction_starts_the_workflow_and_a_cancelled_one_does_not(
        aws: EmbeddedAws, stack: StackInfo):
    """The domain writes ticket and event in one transaction; a lost optimistic-locking race
    cancels it, and nothing may run for the event that was never written."""
    dynamodb = aws.client("dynamodb")
    table = stack.table_name
    ticket = {"PK": _serialize("TICKET#000000000045"), "SK": _serialize("TICKET"),
              "item_type": _serialize("ticket"), "version": _serialize(1),
              "id": _serialize(45), "unique_id": _serialize("HD-45"),
              "title": _serialize("Order")}
    dynamodb.transact_write_items(TransactItems=[
        {"Put": {"TableName": table, "Item": ticket,
                 "ConditionExpression": "attribute_not_exists(PK)"}},
        {"Put": {"TableName": table, "Item": event_item(45, 1),
                 "ConditionExpression": "attribute_not_exists(PK)"}},
    ])
    assert outcome(aws, stack, event_item(45, 1))["workflow_status"] == {"S": "SUCCEEDED"}

    with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
        dynamodb.transact_write_items(TransactItems=[
            {"Put": {"TableName": table, "Item": event_item(45, 2),
                     "ConditionExpression": "attribute_not_exists(PK)"}},
            {"Put": {"TableName": table, "Item": {**ticket, "version": _serialize(2)},
                     "ConditionExpression": "version = :seen",
                     "ExpressionAttributeValues": {":seen": _serialize(0)}}},
        ])
    assert aws.wait_for_streams()
    assert "Item" not in dynamodb.get_item(TableName=table, Key=key(event_item(45, 2)))
    assert executions(aws, stack, "ticket-45-v2") == []


def test_other_items_start_nothing(aws: EmbeddedAws, stack: StackInfo):
    before = len(aws.client("stepfunctions").list_executions(
        stateMachineArn=stack.state_machine_arns["TicketEventStateMachine"])["executions"])
    aws.client("dynamodb").put_item(TableName=stack.table_name, Item={
        "PK": _serialize("TICKET#000000000046"), "SK": _serialize("POST#000000000001"),
        "item_type": _serialize("post"), "text": _serialize("hello")})
    assert aws.wait_for_streams()
    after = aws.client("stepfunctions").list_executions(
        stateMachineArn=stack.state_machine_arns["TicketEventStateMachine"])["executions"]
    assert len(after) == before


def test_a_failing_batch_is_retried_then_described_in_the_dead_letter_queue(
        aws: EmbeddedAws, stack: StackInfo, monkeypatch: pytest.MonkeyPatch):
    lambdas = aws.client("lambda")
    (mapping,) = lambdas.list_event_source_mappings(
        FunctionName=stack.function_names["StreamFunction"])["EventSourceMappings"]
    machine = stack.state_machine_arns["TicketEventStateMachine"]
    lambdas.update_event_source_mapping(UUID=mapping["UUID"], MaximumRetryAttempts=1)
    monkeypatch.setenv("TICKET_EVENT_STATE_MACHINE_ARN", f"{machine}-gone")
    try:
        aws.client("dynamodb").put_item(TableName=stack.table_name, Item=event_item(47, 1))
        assert aws.wait_for_streams()
    finally:
        lambdas.update_event_source_mapping(UUID=mapping["UUID"],
                                            MaximumRetryAttempts=mapping["MaximumRetryAttempts"])
    received = aws.client("sqs").receive_message(
        QueueUrl=stack.queue_urls["DeadLetterQueue"], MaxNumberOfMessages=10)["Messages"]
    (failure,) = [json.loads(m["Body"]) for m in received]
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 2
    assert failure["DDBStreamBatchInfo"]["batchSize"] == 1
    assert executions(aws, stack, "ticket-47-v1") == []


def test_the_stream_handler_reports_only_the_records_that_failed(
        monkeypatch: pytest.MonkeyPatch):
    import stream.handler
    from devstack.lambda_runtime import LambdaContext

    class AlreadyExistsError(Exception):
        pass

    started: list[str] = []

    class StepFunctions:
        class exceptions:  # the shape of a boto3 client
            ExecutionAlreadyExists = AlreadyExistsError

        def start_execution(self, stateMachineArn: str, name: str, input: str) -> None:
            if name == "ticket-5-v2":
                raise RuntimeError("throttled")
            if name == "ticket-5-v3":
                raise AlreadyExistsError(name)
            started.append(name)

    monkeypatch.setattr(stream.handler, "stepfunctions", StepFunctions)
    monkeypatch.setenv("TICKET_EVENT_STATE_MACHINE_ARN", "arn:aws:states:::stateMachine:x")

    def record(version: int, name: str = "INSERT") -> dict[str, Any]:
        item = event_item(5, version)
        return {"eventID": str(version), "eventName": name, "eventSource": "aws:dynamodb",
                "dynamodb": {"Keys": key(item), "NewImage": item,
                             "SequenceNumber": f"10{version}"}}

    context = LambdaContext("stream", 128, 30)
    answer = stream.handler.handler({"Records": [record(1), record(2), record(3),
                                                 record(4, "MODIFY")]}, context)
    assert answer == {"batchItemFailures": [{"itemIdentifier": "102"}]}
    assert started == ["ticket-5-v1"]
