"""The stream poller refuses most writes before building their record (devstack/streams.py):
its early verdict, taken on the few fields a filter names, must be the verdict the whole
record gets, or a workflow would not start (or start for a write it must ignore)."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from moto.dynamodb.models.dynamo_type import DynamoType, Item

from devstack.streams import _passes_filters, _rejected_early, _stream_record

TICKET_EVENT = ('{"eventName": ["INSERT"], "dynamodb": {"NewImage": '
                '{"item_type": {"S": ["ticket_event"]}}}}')  # infra/template.yaml
PATTERNS = [
    TICKET_EVENT,
    '{"eventName": ["MODIFY", "REMOVE"]}',
    '{"dynamodb": {"OldImage": {"status": {"S": ["open"]}}}}',
    '{"dynamodb": {"NewImage": {"status": {"S": [{"anything-but": ["open"]}]}}}}',
    '{"dynamodb": {"NewImage": {"owner": [{"exists": false}]}}}',
    '{"dynamodb": {"NewImage": {"item_type": {"S": [{"prefix": "ticket"}]}}}}',
    '{"dynamodb": {"Keys": {"SK": {"S": [{"prefix": "EVENT#"}]}}}}',
    '{"dynamodb": {"NewImage": {"count": {"N": [{"numeric": [">", 2]}]}}}}',
    '{"eventSource": ["aws:dynamodb"], "eventName": ["INSERT"]}',  # decided on the record
]


def _table(view: str) -> Any:
    return SimpleNamespace(stream_specification={"StreamViewType": view},
                           hash_key_attr="PK", range_key_attr="SK", region_name="eu-west-1")


def _entry(sk: str, **attrs: dict[str, Any]) -> Item:
    return Item(DynamoType({"S": "T#7"}), DynamoType({"S": sk}),
                {"PK": {"S": "T#7"}, "SK": {"S": sk}, **attrs})


def _writes() -> list[tuple[Item | None, Item | None]]:
    """(old, new) of an insert, an update and a removal; built per test: devstack's packed
    items (devstack/moto_items.py) change how an Item is built once installed."""
    return [
        (None, _entry("EVENT#1", item_type={"S": "ticket_event"}, count={"N": "3"})),
        (None, _entry("TICKET", item_type={"S": "ticket"}, status={"S": "open"})),
        (_entry("TICKET", item_type={"S": "ticket"}, status={"S": "open"}),
         _entry("TICKET", item_type={"S": "ticket"}, status={"S": "closed"}, owner={"N": "4"})),
        (_entry("EVENT#1", item_type={"S": "ticket_event"}), None),
        (None, _entry("POST#2", item_type={"S": "post"}, count={"N": "1"})),
    ]


@pytest.mark.parametrize("view", ["NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES", "KEYS_ONLY"])
@pytest.mark.parametrize("pattern", PATTERNS)
def test_the_early_verdict_is_the_verdict_on_the_whole_record(view, pattern):
    table = _table(view)
    for filters in ([pattern], [pattern, TICKET_EVENT]):
        criteria = {"Filters": [{"Pattern": text} for text in filters]}
        for old, new in _writes():
            event = "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"
            record = _stream_record(table, event, old, new, 1)

            delivered = _passes_filters(criteria, record)

            early = _rejected_early(criteria, table, event, old, new)
            if pattern.startswith('{"eventSource"'):
                assert early is False  # never refused early: the record decides
            else:
                assert early is not delivered, (filters, event, record["dynamodb"])


def test_only_ticket_events_pass_the_templates_filter_early():
    table = _table("NEW_AND_OLD_IMAGES")
    criteria = {"Filters": [{"Pattern": TICKET_EVENT}]}
    verdicts = [_rejected_early(criteria, table,
                                "INSERT" if old is None else "REMOVE" if new is None
                                else "MODIFY", old, new) for old, new in _writes()]

    assert verdicts == [False, True, True, True, True]


def test_a_filter_naming_other_fields_leaves_the_verdict_to_the_whole_record():
    criteria = {"Filters": [{"Pattern": json.dumps({"eventSource": ["aws:sqs"]})}]}

    assert not _rejected_early(criteria, _table("NEW_IMAGE"), "INSERT", None, _writes()[0][1])
    assert not _rejected_early(None, _table("NEW_IMAGE"), "INSERT", None, _writes()[0][1])
