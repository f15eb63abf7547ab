"""Lambda: the table's stream -> the search token index (helpdesk/search/indexer.py).

Its event source mapping passes only ticket, ticket_search, user and organization items. Each
record's old and new image go to the indexer, whose writes are idempotent: a redelivered
record changes nothing. Failures are reported per record (ReportBatchItemFailures)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from helpdesk.aws.clients import aws_client
from helpdesk.aws.container import per_container
from helpdesk.aws.environment import settings_of
from helpdesk.search.indexer import Indexer
from helpdesk.store.dynamo import DynamoTable
from helpdesk.store.search_tokens import SearchTokens
from helpdesk.store.ticket_records import TicketRecords
from search_index.settings import Settings

logger = Logger()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


@per_container
def indexer() -> Indexer:
    table = DynamoTable(aws_client("dynamodb"), settings_of(Settings).table_name)
    return Indexer(SearchTokens(table), TicketRecords(table))


def index(record: DynamoDBRecord) -> None:
    if record.dynamodb is None:
        return
    indexer().apply(record.dynamodb.old_image or None, record.dynamodb.new_image or None)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> Any:
    return process_partial_response(event=event, record_handler=index,
                                    processor=processor, context=context)
