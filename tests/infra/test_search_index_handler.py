"""The search_index Lambda: stream records (DynamoDB JSON) -> the indexer, failures reported
per record."""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.types import TypeSerializer

from helpdesk.search.indexer import Indexer
from helpdesk.store import keys
from helpdesk.store.memory import MemoryTable
from helpdesk.store.search_tokens import SearchTokens
from helpdesk.store.ticket_records import TicketRecords

serialize = TypeSerializer().serialize


def _image(item: dict[str, Any]) -> dict[str, Any]:
    return {name: serialize(value) for name, value in item.items()}


def _record(number: int, name: str, old: dict | None, new: dict | None) -> dict[str, Any]:
    image = new if new is not None else old
    assert image is not None
    dynamodb: dict[str, Any] = {"Keys": _image({"PK": image["PK"], "SK": image["SK"]}),
                                "SequenceNumber": f"10{number}"}
    if old is not None:
        dynamodb["OldImage"] = _image(old)
    if new is not None:
        dynamodb["NewImage"] = _image(new)
    return {"eventID": str(number), "eventName": name, "eventSource": "aws:dynamodb",
            "dynamodb": dynamodb}


def test_records_reach_the_indexer_and_a_failing_one_is_reported():
    import search_index.handler

    from devstack.lambda_runtime import LambdaContext

    table = MemoryTable()
    tokens = SearchTokens(table)
    search_index.handler.indexer.use(Indexer(tokens, TicketRecords(table)))
    try:
        pk, sk = keys.ticket_search(3)
        first = {"PK": pk, "SK": sk, "item_type": "ticket_search", "text": "принтер"}
        grown = {**first, "text": "принтер оплата"}
        broken = {"PK": "X", "SK": "Y", "item_type": "user"}  # no id anywhere
        records = [_record(1, "INSERT", None, first), _record(2, "MODIFY", first, grown),
                   _record(3, "INSERT", None, broken), _record(4, "MODIFY", first, grown)]
        answer = search_index.handler.handler({"Records": records},
                                              LambdaContext("search_index", 128, 30))
        assert answer == {"batchItemFailures": [{"itemIdentifier": "103"}]}
        assert tokens.documents("ticket", "оплат", limit=5) == [3]
        search_index.handler.handler({"Records": [_record(5, "REMOVE", grown, None)]},
                                     LambdaContext("search_index", 128, 30))
        assert tokens.documents("ticket", "принтер", limit=5) == []
    finally:
        search_index.handler.indexer.cache_clear()
