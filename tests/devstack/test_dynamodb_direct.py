"""In-process DynamoDB calls skip the HTTP round trip (devstack/dynamodb_direct.py) and answer
exactly what the HTTP path answers: the same items, pages and errors a caller can see."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core.botocore_stubber import BotocoreStubber

from devstack import dynamodb_direct, moto_patches

TABLE = "direct"


@pytest.fixture
def client() -> Iterator[Any]:
    with mock_aws():
        moto_patches.install()
        try:
            dynamo = boto3.client("dynamodb", region_name="eu-west-1")
            dynamo.create_table(
                TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"}
                                      for n in ("PK", "SK")],
                KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"},
                           {"AttributeName": "SK", "KeyType": "RANGE"}])
            yield dynamo
        finally:
            moto_patches.uninstall()


@pytest.fixture
def http_requests(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """URLs of the requests moto's HTTP-emulating stubber had to handle."""
    seen: list[str] = []
    original = BotocoreStubber.process_request

    def counting(self: Any, request: Any) -> Any:
        seen.append(request.url)
        return original(self, request)

    monkeypatch.setattr(BotocoreStubber, "process_request", counting)
    return seen


def _without_metadata(answer: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in answer.items() if key != "ResponseMetadata"}


def _item(pk: str, sk: str, **extra: Any) -> dict[str, Any]:
    return {"PK": {"S": pk}, "SK": {"S": sk}, **extra}


def test_data_calls_do_not_go_through_the_http_emulation(client, http_requests):
    client.put_item(TableName=TABLE, Item=_item("T#1", "TICKET", title={"S": "Оплата"}))
    client.update_item(TableName=TABLE, Key=_item("T#1", "TICKET"),
                       UpdateExpression="SET version = :v",
                       ExpressionAttributeValues={":v": {"N": "2"}})
    client.transact_write_items(TransactItems=[
        {"Put": {"TableName": TABLE, "Item": _item("T#1", "POST#1", text={"S": "Привет"})}}])
    got = client.get_item(TableName=TABLE, Key=_item("T#1", "TICKET"))["Item"]
    listed = client.query(TableName=TABLE, KeyConditionExpression="PK = :pk",
                          ExpressionAttributeValues={":pk": {"S": "T#1"}})["Items"]
    client.delete_item(TableName=TABLE, Key=_item("T#1", "POST#1"))

    assert http_requests == []
    assert got == _item("T#1", "TICKET", title={"S": "Оплата"}, version={"N": "2"})
    assert [entry["SK"]["S"] for entry in listed] == ["POST#1", "TICKET"]


def test_a_query_page_is_the_same_as_over_http(client):
    for number in range(7):
        client.put_item(TableName=TABLE, Item=_item("T#1", f"POST#{number}",
                                                     size={"N": str(number)},
                                                     tags={"SS": ["a", f"t{number}"]},
                                                     meta={"M": {"n": {"L": [{"N": "1"}]}}}))
    ask = {"TableName": TABLE, "KeyConditionExpression": "PK = :pk", "Limit": 3,
           "ScanIndexForward": False, "ExpressionAttributeValues": {":pk": {"S": "T#1"}}}

    direct = client.query(**ask)
    with dynamodb_direct.bypassed():
        over_http = client.query(**ask)

    assert _without_metadata(direct) == _without_metadata(over_http)
    assert direct["LastEvaluatedKey"] == _item("T#1", "POST#4")
    assert direct["ResponseMetadata"]["HTTPStatusCode"] == 200


@pytest.mark.parametrize("call", ["condition", "transaction", "validation", "missing table"])
def test_errors_are_the_same_client_errors_as_over_http(client, call):
    client.put_item(TableName=TABLE, Item=_item("taken", "A"))
    attempts = {
        "condition": lambda: client.put_item(
            TableName=TABLE, Item=_item("taken", "A"),
            ConditionExpression="attribute_not_exists(PK)"),
        "transaction": lambda: client.transact_write_items(TransactItems=[
            {"Put": {"TableName": TABLE, "Item": _item("fresh", "A")}},
            {"Put": {"TableName": TABLE, "Item": _item("taken", "A"),
                     "ConditionExpression": "attribute_not_exists(PK)"}}]),
        "validation": lambda: client.query(
            TableName=TABLE, KeyConditionExpression="title = :t",
            ExpressionAttributeValues={":t": {"S": "x"}}),
        "missing table": lambda: client.get_item(TableName="absent", Key=_item("a", "b")),
    }

    with pytest.raises(ClientError) as direct:
        attempts[call]()
    with dynamodb_direct.bypassed(), pytest.raises(ClientError) as over_http:
        attempts[call]()

    assert _without_metadata(direct.value.response) == _without_metadata(
        over_http.value.response)
    assert direct.value.response["Error"]["Code"]
    assert direct.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    if call == "transaction":
        assert [r["Code"] for r in direct.value.response["CancellationReasons"]] == [
            "None", "ConditionalCheckFailed"]
        assert "Item" not in client.get_item(TableName=TABLE, Key=_item("fresh", "A"))


def test_binary_attributes_round_trip_as_bytes(client):
    client.put_item(TableName=TABLE, Item=_item("F#1", "BLOB", data={"B": b"\x00\xffpng"},
                                                parts={"BS": [b"a", b"\x01"]}))

    got = client.get_item(TableName=TABLE, Key=_item("F#1", "BLOB"))["Item"]

    assert got["data"] == {"B": b"\x00\xffpng"}
    assert sorted(got["parts"]["BS"]) == [b"\x01", b"a"]


def test_clients_of_another_process_keep_the_http_path(client):
    model = client.meta.service_model.operation_model("GetItem")
    request = {"url": "http://127.0.0.1:5000/", "body": b"{}", "headers": {}}

    assert dynamodb_direct.direct_call(model, request, {}) is None
