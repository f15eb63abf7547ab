"""Table on DynamoDB through the low-level client (lighter than the resource layer)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from helpdesk.store.table import (
    Add,
    Check,
    Condition,
    ConditionFailed,
    Delete,
    Item,
    Operation,
    Page,
    Put,
    QueryRequest,
    TransactionConflict,
)

BATCH_GET_LIMIT = 100  # keys per BatchGetItem call (DynamoDB's limit)
BATCH_WRITE_LIMIT = 25  # requests per BatchWriteItem call (DynamoDB's limit)
BATCH_ATTEMPTS = 8
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def _to_dynamo(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: _to_dynamo(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_dynamo(v) for v in value]
    return value


def _from_dynamo(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _from_dynamo(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_dynamo(v) for v in value]
    if isinstance(value, set):
        return {_from_dynamo(v) for v in value}
    return value


def serialize(item: Item) -> dict[str, Any]:
    return {k: _serializer.serialize(_to_dynamo(v)) for k, v in item.items()}


def deserialize(image: dict[str, Any]) -> Item:
    return {k: _from_dynamo(_deserializer.deserialize(v)) for k, v in image.items()}


def _condition_args(condition: Condition | None, prefix: str = "c") -> dict[str, Any]:
    if condition is None:
        return {}
    if condition.absent:
        return {"ConditionExpression": "attribute_not_exists(PK)"}
    if condition.exists:
        return {"ConditionExpression": "attribute_exists(PK)"}
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    clauses = ["attribute_exists(PK)"]
    for position, (name, value) in enumerate(condition.equals):
        names[f"#{prefix}{position}"] = name
        values[f":{prefix}{position}"] = _serializer.serialize(_to_dynamo(value))
        clauses.append(f"#{prefix}{position} = :{prefix}{position}")
    args: dict[str, Any] = {"ConditionExpression": " AND ".join(clauses)}
    if names:
        args["ExpressionAttributeNames"] = names
        args["ExpressionAttributeValues"] = values
    return args


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"PK": {"S": pk}, "SK": {"S": sk}}


def _is_conditional_failure(error: ClientError) -> bool:
    return bool(error.response["Error"]["Code"] == "ConditionalCheckFailedException")


class DynamoTable:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._name = table_name

    def get(self, pk: str, sk: str) -> Item | None:
        found = self._client.get_item(TableName=self._name, Key=_key(pk, sk), ConsistentRead=True)
        return deserialize(found["Item"]) if "Item" in found else None

    def put(self, item: Item, condition: Condition | None = None) -> None:
        try:
            self._client.put_item(
                TableName=self._name, Item=serialize(item), **_condition_args(condition)
            )
        except ClientError as error:
            if _is_conditional_failure(error):
                raise ConditionFailed(str(error)) from error
            raise

    def delete(self, pk: str, sk: str, condition: Condition | None = None) -> None:
        try:
            self._client.delete_item(
                TableName=self._name, Key=_key(pk, sk), **_condition_args(condition)
            )
        except ClientError as error:
            if _is_conditional_failure(error):
                raise ConditionFailed(str(error)) from error
            raise

    def transact(self, operations: Sequence[Operation]) -> None:
        try:
            self._client.transact_write_items(
                TransactItems=[self._transact_item(op) for op in operations]
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            reasons = [
                reason.get("Code", "None")
                for reason in error.response.get("CancellationReasons", [])
            ]
            raise TransactionConflict(reasons) from error

    def _transact_item(self, op: Operation) -> dict[str, Any]:
        if isinstance(op, Put):
            return {
                "Put": {
                    "TableName": self._name,
                    "Item": serialize(op.item),
                    **_condition_args(op.condition),
                }
            }
        if isinstance(op, Delete):
            return {
                "Delete": {
                    "TableName": self._name,
                    "Key": _key(op.pk, op.sk),
                    **_condition_args(op.condition),
                }
            }
        if isinstance(op, Add):
            return {
                "Update": {
                    "TableName": self._name,
                    "Key": _key(op.pk, op.sk),
                    "UpdateExpression": "ADD #a :n",
                    "ExpressionAttributeNames": {"#a": op.attribute},
                    "ExpressionAttributeValues": {":n": {"N": str(op.amount)}},
                }
            }
        assert isinstance(op, Check)
        return {
            "ConditionCheck": {
                "TableName": self._name,
                "Key": _key(op.pk, op.sk),
                **_condition_args(op.condition),
            }
        }

    def update(self, pk: str, sk: str, values: Item, condition: Condition | None = None) -> None:
        args = _condition_args(condition)
        names = {f"#u{n}": name for n, name in enumerate(values)}
        names |= args.pop("ExpressionAttributeNames", {})
        bound = {f":u{n}": _serializer.serialize(_to_dynamo(value))
                 for n, value in enumerate(values.values())}
        bound |= args.pop("ExpressionAttributeValues", {})
        try:
            self._client.update_item(
                TableName=self._name, Key=_key(pk, sk),
                UpdateExpression="SET " + ", ".join(f"#u{n} = :u{n}" for n in range(len(values))),
                ExpressionAttributeNames=names, ExpressionAttributeValues=bound, **args)
        except ClientError as error:
            if _is_conditional_failure(error):
                raise ConditionFailed(str(error)) from error
            raise

    def write_many(self, puts: Sequence[Item], deletes: Sequence[tuple[str, str]] = ()) -> None:
        requests = [{"PutRequest": {"Item": serialize(item)}} for item in puts]
        requests += [{"DeleteRequest": {"Key": _key(pk, sk)}} for pk, sk in deletes]
        for start in range(0, len(requests), BATCH_WRITE_LIMIT):
            pending: dict[str, Any] = {self._name: requests[start:start + BATCH_WRITE_LIMIT]}
            for attempt in range(BATCH_ATTEMPTS):
                pending = self._client.batch_write_item(
                    RequestItems=pending).get("UnprocessedItems") or {}
                if not pending:
                    break
                time.sleep(min(0.05 * 2**attempt, 1.0))  # throttled: back off, as AWS asks
            else:
                raise RuntimeError(f"BatchWriteItem left items unprocessed after "
                                   f"{BATCH_ATTEMPTS} attempts")

    def get_many(self, keys: Sequence[tuple[str, str]]) -> list[Item]:
        found: dict[tuple[str, str], Item] = {}
        for start in range(0, len(keys), BATCH_GET_LIMIT):
            chunk = dict.fromkeys(keys[start:start + BATCH_GET_LIMIT])  # BatchGet refuses repeats
            wanted: dict[str, Any] = {self._name: {"Keys": [_key(pk, sk) for pk, sk in chunk]}}
            for attempt in range(BATCH_ATTEMPTS):
                answer = self._client.batch_get_item(RequestItems=wanted)
                for image in answer.get("Responses", {}).get(self._name, []):
                    item = deserialize(image)
                    found[(item["PK"], item["SK"])] = item
                wanted = answer.get("UnprocessedKeys") or {}
                if not wanted:
                    break
                time.sleep(min(0.05 * 2**attempt, 1.0))  # throttled: back off, as AWS asks
            else:
                raise RuntimeError(f"BatchGetItem left keys unprocessed after "
                                   f"{BATCH_ATTEMPTS} attempts")
        return [found[key] for key in keys if key in found]

    def query(self, request: QueryRequest) -> Page:
        pk_attr, sk_attr = (
            ("PK", "SK") if request.index is None else (f"{request.index}PK", f"{request.index}SK")
        )
        names = {"#pk": pk_attr}
        values: dict[str, Any] = {":pk": {"S": request.pk}}
        condition = "#pk = :pk"
        key_range = request.sk
        if key_range.prefix is not None:
            names["#sk"] = sk_attr
            values[":prefix"] = {"S": key_range.prefix}
            condition += " AND begins_with(#sk, :prefix)"
        elif key_range.low is not None or key_range.high is not None:
            names["#sk"] = sk_attr
            values[":low"] = {"S": key_range.low or ""}
            values[":high"] = {"S": key_range.high or "\U0010ffff"}
            condition += " AND #sk BETWEEN :low AND :high"
        args: dict[str, Any] = {
            "TableName": self._name,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": not request.newest_first,
        }
        if request.index is not None:
            args["IndexName"] = request.index
        else:
            args["ConsistentRead"] = True
        if request.limit is not None:
            args["Limit"] = request.limit
        if request.start_key is not None:
            args["ExclusiveStartKey"] = serialize(request.start_key)
        answer = self._client.query(**args)
        next_key = answer.get("LastEvaluatedKey")
        return Page(
            [deserialize(item) for item in answer.get("Items", [])],
            deserialize(next_key) if next_key else None,
        )

    def increment(self, pk: str, sk: str, attribute: str, amount: int = 1) -> int:
        answer = self._client.update_item(
            TableName=self._name,
            Key=_key(pk, sk),
            UpdateExpression="ADD #a :n",
            ExpressionAttributeNames={"#a": attribute},
            ExpressionAttributeValues={":n": {"N": str(amount)}},
            ReturnValues="UPDATED_NEW",
        )
        return int(answer["Attributes"][attribute]["N"])

    def increment_if(
        self, pk: str, sk: str, attribute: str, condition: Condition, amount: int = 1
    ) -> Item:
        args = _condition_args(condition)
        names = {"#a": attribute, **args.pop("ExpressionAttributeNames", {})}
        values = {":n": {"N": str(amount)}, **args.pop("ExpressionAttributeValues", {})}
        try:
            answer = self._client.update_item(
                TableName=self._name,
                Key=_key(pk, sk),
                UpdateExpression="ADD #a :n",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
                **args,
            )
        except ClientError as error:
            if _is_conditional_failure(error):
                raise ConditionFailed(str(error)) from error
            raise
        return deserialize(answer["Attributes"])
