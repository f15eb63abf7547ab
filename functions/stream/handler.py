"""Lambda: the table's stream -> one ticket_event execution per new event item.

The execution name is derived from the event (`ticket-<id>-v<version>`), so a redelivered
stream record finds the execution already there and does nothing."""

from __future__ import annotations

import json
import os
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import (
    DynamoDBRecord,
)

logger = Logger()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


@cache
def _stepfunctions() -> Any:
    import boto3

    return boto3.client("stepfunctions")


def start_workflow(record: DynamoDBRecord) -> None:
    image = record.dynamodb.new_image if record.dynamodb else None
    if record.event_name is None or record.event_name.name != "INSERT" or not image:
        return
    if image.get("item_type") != "ticket_event":
        return
    ticket_id, version = int(image["ticket_id"]), int(image["version"])
    name = f"ticket-{ticket_id}-v{version}"
    payload = {"ticket_id": ticket_id, "version": version, "event_id": image["event_id"],
               "kind": image["kind"], "pk": image["PK"], "sk": image["SK"]}
    client = _stepfunctions()
    try:
        client.start_execution(stateMachineArn=os.environ["TICKET_EVENT_STATE_MACHINE_ARN"],
                               name=name, input=json.dumps(payload))
    except client.exceptions.ExecutionAlreadyExists:
        logger.info("workflow already started", extra={"execution": name})


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=start_workflow,
                                    processor=processor, context=context)
