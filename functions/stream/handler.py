"""Lambda: the table's stream -> one ticket_event execution per new event item that gives it
work (helpdesk/workflow_gate.py); an event without any is recorded as done at once.

The execution name is derived from the event (`ticket-<id>-v<version>`), so a redelivered
stream record finds the execution already there and does nothing. Failures are reported per
record (ReportBatchItemFailures): the stream retries from the first failed record only."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import (
    DynamoDBRecord,
    DynamoDBRecordEventName,
)

from helpdesk.aws.clients import aws_client
from helpdesk.aws.container import per_container

if TYPE_CHECKING:
    from helpdesk.workflow_gate import WorkflowGate

logger = Logger()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def stepfunctions() -> Any:
    # boto3 is loaded on the first record that needs it: most stream records need none.
    return aws_client("stepfunctions")


@per_container
def gate() -> WorkflowGate:
    # The domain (pydantic) only when a ticket event arrives: most records are filtered out.
    from helpdesk.aws.environment import settings_of
    from helpdesk.aws.runtime import clock_from
    from helpdesk.records import Records
    from helpdesk.store.dynamo import DynamoTable
    from helpdesk.store.ticket_records import TicketRecords
    from helpdesk.workflow_gate import StoredAutomation, WorkflowGate
    from stream.settings import Settings

    settings = settings_of(Settings)
    table = DynamoTable(aws_client("dynamodb"), settings.table_name)
    return WorkflowGate(StoredAutomation(Records.on(table)), TicketRecords(table),
                        clock_from(settings))


def workflow_input(image: dict[str, Any]) -> dict[str, Any]:
    """The ticket_event state machine's input, from the event item's new image.
    `post_work` (false: a customer's plain-text post, nothing to deliver or fetch) lets the
    workflow skip its delivery step; events written before it existed leave it out."""
    payload = {"ticket_id": int(image["ticket_id"]), "version": int(image["version"]),
               "event_id": str(image["event_id"]), "kind": str(image["kind"]),
               "pk": str(image["PK"]), "sk": str(image["SK"])}
    context = image.get("context")
    if isinstance(context, dict) and "post_work" in context:
        payload["post_work"] = bool(context["post_work"])
    return payload


def start_workflow(record: DynamoDBRecord) -> None:
    if record.event_name != DynamoDBRecordEventName.INSERT or record.dynamodb is None:
        return
    image = record.dynamodb.new_image
    if not image or image.get("item_type") != "ticket_event":
        return
    payload = workflow_input(image)
    context = image.get("context")
    if not gate().needs_workflow(payload["ticket_id"], payload["version"], payload["kind"],
                                 context if isinstance(context, dict) else {}):
        return
    name = f"ticket-{payload['ticket_id']}-v{payload['version']}"
    from helpdesk.aws.environment import settings_of
    from stream.settings import Settings

    client = stepfunctions()
    try:
        client.start_execution(
            stateMachineArn=settings_of(Settings).ticket_event_state_machine_arn,
            name=name, input=json.dumps(payload))
    except client.exceptions.ExecutionAlreadyExists:
        logger.info("workflow already started", extra={"execution": name})


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> Any:
    return process_partial_response(event=event, record_handler=start_workflow,
                                    processor=processor, context=context)
