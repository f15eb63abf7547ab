"""The embedded DynamoDB as devstack patches it (devstack/moto_patches.py) keeps DynamoDB's
semantics: one writer wins under real concurrency, transactions are all-or-nothing, and a
Query (of the table or a global index) answers exactly what unpatched moto answers."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from devstack import moto_patches
from tests.support.timeouts import HANG_GUARD

TABLE = "patched"


def _create(client: Any) -> None:
    client.create_table(
        TableName=TABLE, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": name, "AttributeType": "S"}
                              for name in ("PK", "SK", "GSI1PK", "GSI1SK")],
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"},
                   {"AttributeName": "SK", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[{
            "IndexName": "GSI1",
            "KeySchema": [{"AttributeName": "GSI1PK", "KeyType": "HASH"},
                          {"AttributeName": "GSI1SK", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "ALL"}}])


@pytest.fixture
def patched() -> Iterator[Any]:
    with mock_aws():
        moto_patches.install()
        try:
            client = boto3.client("dynamodb", region_name="us-east-1")
            _create(client)
            yield client
        finally:
            moto_patches.uninstall()


def _put_if_absent(client: Any, key: str, writer: int) -> bool:
    try:
        client.put_item(TableName=TABLE, Item={"PK": {"S": key}, "SK": {"S": "A"},
                                               "writer": {"N": str(writer)}},
                        ConditionExpression="attribute_not_exists(PK)")
        return True
    except ClientError as error:
        assert error.response["Error"]["Code"] == "ConditionalCheckFailedException"
        return False


def test_transactions_get_their_idempotency_tokens_without_a_system_call(patched):
    import botocore.handlers

    from devstack import request_ids

    assert botocore.handlers.uuid is request_ids.UUID_MODULE
    patched.transact_write_items(TransactItems=[{"Put": {"TableName": TABLE, "Item": {
        "PK": {"S": "token"}, "SK": {"S": "T"}}}}])
    assert "Item" in patched.get_item(TableName=TABLE, Key={"PK": {"S": "token"},
                                                             "SK": {"S": "T"}})


def test_one_of_twenty_simultaneous_conditional_writers_wins(patched):
    barrier = threading.Barrier(20)
    won: list[int] = []

    def write(writer: int) -> None:
        barrier.wait()
        if _put_if_absent(patched, "contested", writer):
            won.append(writer)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1
    stored = patched.get_item(TableName=TABLE, Key={"PK": {"S": "contested"},
                                                    "SK": {"S": "A"}})["Item"]
    assert stored["writer"] == {"N": str(won[0])}


def test_concurrent_transactions_on_a_growing_table_all_commit_or_cancel_cleanly(patched):
    """Each thread bumps a shared counter with a version check and adds its own rows: every
    acknowledged bump is counted, none is lost, no transaction dies inside moto."""
    patched.put_item(TableName=TABLE, Item={"PK": {"S": "counter"}, "SK": {"S": "A"},
                                            "n": {"N": "0"}})
    barrier = threading.Barrier(8)
    acknowledged: list[int] = []
    unexpected: list[str] = []

    def bump(thread: int) -> None:
        barrier.wait()
        for attempt in range(15):
            current = int(patched.get_item(TableName=TABLE, Key={
                "PK": {"S": "counter"}, "SK": {"S": "A"}})["Item"]["n"]["N"])
            try:
                patched.transact_write_items(TransactItems=[
                    {"Update": {"TableName": TABLE,
                                "Key": {"PK": {"S": "counter"}, "SK": {"S": "A"}},
                                "UpdateExpression": "SET n = :next",
                                "ConditionExpression": "n = :seen",
                                "ExpressionAttributeValues": {":seen": {"N": str(current)},
                                                              ":next": {"N": str(current + 1)}}}},
                    {"Put": {"TableName": TABLE,
                             "Item": {"PK": {"S": f"row-{thread}-{attempt}"}, "SK": {"S": "A"},
                                      "GSI1PK": {"S": "rows"},
                                      "GSI1SK": {"S": f"{thread:02}-{attempt:02}"}}}}])
                acknowledged.append(current + 1)
            except ClientError as error:
                if error.response["Error"]["Code"] != "TransactionCanceledException":
                    unexpected.append(error.response["Error"]["Code"])

    threads = [threading.Thread(target=bump, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert unexpected == []
    final = patched.get_item(TableName=TABLE, Key={"PK": {"S": "counter"},
                                                   "SK": {"S": "A"}})["Item"]["n"]["N"]
    assert sorted(acknowledged) == list(range(1, int(final) + 1))
    rows = patched.query(TableName=TABLE, IndexName="GSI1",
                         KeyConditionExpression="GSI1PK = :p",
                         ExpressionAttributeValues={":p": {"S": "rows"}})["Items"]
    assert len(rows) == len(acknowledged)  # a cancelled transaction left no row behind


def test_a_transaction_that_fails_midway_leaves_nothing_behind(patched):
    patched.put_item(TableName=TABLE, Item={"PK": {"S": "t"}, "SK": {"S": "A"},
                                            "GSI1PK": {"S": "old"}, "GSI1SK": {"S": "1"},
                                            "label": {"S": "text"}})
    with pytest.raises(ClientError) as raised:
        patched.transact_write_items(TransactItems=[
            {"Update": {"TableName": TABLE, "Key": {"PK": {"S": "t"}, "SK": {"S": "A"}},
                        "UpdateExpression": "SET GSI1PK = :new",
                        "ExpressionAttributeValues": {":new": {"S": "new"}}}},
            {"Put": {"TableName": TABLE, "Item": {"PK": {"S": "u"}, "SK": {"S": "A"}}}},
            # Passes the condition phase, fails when applied: ADD to a string attribute.
            {"Update": {"TableName": TABLE, "Key": {"PK": {"S": "t2"}, "SK": {"S": "A"}},
                        "UpdateExpression": "SET label = :text ADD label :one",
                        "ExpressionAttributeValues": {":text": {"S": "x"},
                                                      ":one": {"N": "1"}}}}])
    assert raised.value.response["Error"]["Code"] in ("TransactionCanceledException",
                                                      "ValidationException")
    item = patched.get_item(TableName=TABLE, Key={"PK": {"S": "t"}, "SK": {"S": "A"}})["Item"]
    assert item["GSI1PK"] == {"S": "old"}
    assert "Item" not in patched.get_item(TableName=TABLE, Key={"PK": {"S": "u"},
                                                                "SK": {"S": "A"}})
    assert _index(patched, "old") == ["t"] and _index(patched, "new") == []


def test_a_failed_condition_cancels_the_whole_transaction_with_one_reason_per_item(patched):
    patched.put_item(TableName=TABLE, Item={"PK": {"S": "taken"}, "SK": {"S": "A"}})
    with pytest.raises(ClientError) as raised:
        patched.transact_write_items(TransactItems=[
            {"Put": {"TableName": TABLE, "Item": {"PK": {"S": "fresh"}, "SK": {"S": "A"}}}},
            {"Put": {"TableName": TABLE, "Item": {"PK": {"S": "taken"}, "SK": {"S": "A"}},
                     "ConditionExpression": "attribute_not_exists(PK)"}}])
    reasons = raised.value.response["CancellationReasons"]
    assert [reason["Code"] for reason in reasons] == ["None", "ConditionalCheckFailed"]
    assert "Item" not in patched.get_item(TableName=TABLE, Key={"PK": {"S": "fresh"},
                                                                "SK": {"S": "A"}})


def _index(client: Any, partition: str) -> list[str]:
    found = client.query(TableName=TABLE, IndexName="GSI1",
                         KeyConditionExpression="GSI1PK = :p",
                         ExpressionAttributeValues={":p": {"S": partition}})["Items"]
    return [item["PK"]["S"] for item in found]


# --- patched Query == moto's own Query, over random histories of writes -------------------
KEYS = st.sampled_from(["a", "b", "c"])
SORTS = st.sampled_from(["1", "2", "3", "4"])
GROUPS = st.sampled_from(["g1", "g2", None])
WRITES = st.one_of(
    st.tuples(st.just("put"), KEYS, SORTS, GROUPS, SORTS),
    st.tuples(st.just("update"), KEYS, SORTS, GROUPS, SORTS),
    st.tuples(st.just("delete"), KEYS, SORTS, GROUPS, SORTS),
)


def _replay(client: Any, writes: list[tuple[str, str, str, str | None, str]]) -> list[Any]:
    for kind, pk, sk, group, rank in writes:
        key = {"PK": {"S": pk}, "SK": {"S": sk}}
        if kind == "put":
            item = {**key, "rank": {"S": rank}}
            if group:
                item |= {"GSI1PK": {"S": group}, "GSI1SK": {"S": rank}}
            client.put_item(TableName=TABLE, Item=item)
        elif kind == "update" and group:
            client.update_item(TableName=TABLE, Key=key,
                               UpdateExpression="SET GSI1PK = :g, GSI1SK = :r",
                               ExpressionAttributeValues={":g": {"S": group}, ":r": {"S": rank}})
        elif kind == "update":
            client.update_item(TableName=TABLE, Key=key, UpdateExpression="REMOVE GSI1PK")
        else:
            client.delete_item(TableName=TABLE, Key=key)
    answers = []
    for pk in ("a", "b", "c"):
        answers.append(_pages(client, KeyConditionExpression="PK = :v",
                              ExpressionAttributeValues={":v": {"S": pk}}))
    for group in ("g1", "g2"):
        for forward in (True, False):
            answers.append(_pages(client, IndexName="GSI1", ScanIndexForward=forward,
                                  KeyConditionExpression="GSI1PK = :v AND GSI1SK > :r",
                                  ExpressionAttributeValues={":v": {"S": group},
                                                             ":r": {"S": "1"}}))
    return answers


def _pages(client: Any, **query: Any) -> list[Any]:
    pages, start = [], None
    while True:
        answer = client.query(TableName=TABLE, Limit=2, **query,
                              **({"ExclusiveStartKey": start} if start else {}))
        pages.append(answer["Items"])
        start = answer.get("LastEvaluatedKey")
        if not start:
            return pages


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(WRITES, max_size=25))
def test_patched_queries_answer_what_moto_answers(writes):
    results = []
    for patch in (True, False):
        with mock_aws():
            if patch:
                moto_patches.install()
            try:
                client = boto3.client("dynamodb", region_name="us-east-1")
                _create(client)
                results.append(_replay(client, writes))
            finally:
                moto_patches.uninstall()
    assert results[0] == results[1]


def test_what_moto_served_is_freed_once_nobody_holds_it(patched):
    """moto's own tracking of every model instance kept each item copy a Query or an update
    made for ever: the stack's memory grew with every message."""
    import gc

    from moto.dynamodb.models.dynamo_type import Item

    def live_items() -> int:
        gc.collect()
        return sum(1 for o in gc.get_objects() if isinstance(o, Item))

    patched.put_item(TableName=TABLE, Item={"PK": {"S": "kept"}, "SK": {"S": "A"},
                                            "GSI1PK": {"S": "g"}, "GSI1SK": {"S": "1"}})
    before = live_items()
    for n in range(50):
        patched.update_item(TableName=TABLE, Key={"PK": {"S": "kept"}, "SK": {"S": "A"}},
                            UpdateExpression="SET n = :n",
                            ExpressionAttributeValues={":n": {"N": str(n)}})
        patched.query(TableName=TABLE, IndexName="GSI1", KeyConditionExpression="GSI1PK = :g",
                      ExpressionAttributeValues={":g": {"S": "g"}})
    assert live_items() == before  # still the one stored item


# --- items rest packed (devstack/moto_items.py) and read back exactly ---------------------
EVERY_TYPE = {
    "PK": {"S": "typed"}, "SK": {"S": "A"},
    "text": {"S": "Привет, 世界"}, "number": {"N": "12.50"}, "blob": {"B": b"\x00\xffraw"},
    "labels": {"SS": ["a", "b"]}, "figures": {"NS": ["1", "2.5"]}, "blobs": {"BS": [b"x", b"y"]},
    "flag": {"BOOL": False}, "nothing": {"NULL": True},
    "nested": {"M": {"list": {"L": [{"S": "one"}, {"N": "2"}, {"M": {"deep": {"BOOL": True}}}]},
                     "empty": {"M": {}}}},
}
KEY = {"PK": {"S": "typed"}, "SK": {"S": "A"}}
UPDATES = [
    ("SET nested.#l = list_append(nested.#l, :more), #n = #n + :one",
     {":more": {"L": [{"S": "three"}]}, ":one": {"N": "1"}}, {"#l": "list", "#n": "number"}),
    ("ADD labels :name, figures :figure", {":name": {"SS": ["c"]}, ":figure": {"NS": ["7"]}}, {}),
    ("SET nested.added = :map REMOVE flag, nested.#l[0]",
     {":map": {"M": {"k": {"S": "v"}}}}, {"#l": "list"}),
    ("DELETE labels :gone", {":gone": {"SS": ["a"]}}, {}),
]


def _history_of_one_item(client: Any) -> list[Any]:
    client.put_item(TableName=TABLE, Item=EVERY_TYPE)
    seen = [client.get_item(TableName=TABLE, Key=KEY, ConsistentRead=True)["Item"]]
    for expression, values, names in UPDATES:
        answer = client.update_item(TableName=TABLE, Key=KEY, UpdateExpression=expression,
                                    ExpressionAttributeValues=values, ReturnValues="ALL_OLD",
                                    **({"ExpressionAttributeNames": names} if names else {}))
        seen.append(answer["Attributes"])
        seen.append(client.query(TableName=TABLE, KeyConditionExpression="PK = :p",
                                 ExpressionAttributeValues={":p": {"S": "typed"}})["Items"])
    seen.append(client.get_item(TableName=TABLE, Key=KEY)["Item"])
    return seen


def test_an_item_of_every_attribute_type_reads_back_exactly_as_moto_keeps_it():
    histories = []
    for patch in (True, False):
        with mock_aws():
            if patch:
                moto_patches.install()
            try:
                client = boto3.client("dynamodb", region_name="us-east-1")
                _create(client)
                histories.append(_history_of_one_item(client))
            finally:
                moto_patches.uninstall()
    assert histories[0] == histories[1]
    assert histories[0][0]["blob"] == {"B": b"\x00\xffraw"}
    assert histories[0][-1]["nested"]["M"]["list"]["L"] == [
        {"N": "2"}, {"M": {"deep": {"BOOL": True}}}, {"S": "three"}]


def test_a_stored_item_rests_as_one_packed_string_not_as_moto_objects(patched):
    from moto.dynamodb.models import dynamodb_backends

    patched.put_item(TableName=TABLE, Item=EVERY_TYPE)
    patched.get_item(TableName=TABLE, Key=KEY)
    table = dynamodb_backends["123456789012"]["us-east-1"].tables[TABLE]
    [partition] = table.items.values()
    [stored_item] = partition.values()
    stored = stored_item.__dict__
    assert "_attrs" not in stored and isinstance(stored["_packed"], bytes)


def test_an_item_over_the_size_limit_is_refused_and_the_stored_one_kept(patched):
    patched.put_item(TableName=TABLE, Item={**KEY, "body": {"S": "kept"}})
    with pytest.raises(ClientError) as refused:
        patched.put_item(TableName=TABLE, Item={**KEY, "body": {"S": "x" * 410_000}})
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert "size" in refused.value.response["Error"]["Message"].lower()
    assert patched.get_item(TableName=TABLE, Key=KEY)["Item"]["body"] == {"S": "kept"}


# --- Step Functions threads ---------------------------------------------------------------
@pytest.fixture
def workflows() -> Iterator[tuple[Any, Any]]:
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        moto_patches.install()
        try:
            dynamodb = boto3.client("dynamodb", region_name="us-east-1")
            _create(dynamodb)
            yield boto3.client("stepfunctions", region_name="us-east-1"), dynamodb
        finally:
            moto_patches.uninstall()


def _writing_machine(client: Any, table: str, tasks: int = 3) -> str:
    """`tasks` Task states, each a DynamoDB putItem of the execution's `key` (task n's SK: n)."""
    states = {f"Put{n}": {
        "Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
        "Parameters": {"TableName": table,
                       "Item": {"PK": {"S.$": "$.key"}, "SK": {"S": str(n)}}},
        "ResultPath": None,
        **({"Next": f"Put{n + 1}"} if n + 1 < tasks else {"End": True})}
        for n in range(tasks)}
    return str(client.create_state_machine(
        name=f"writer-{table}", roleArn="arn:aws:iam::123456789012:role/workflow",
        definition=json.dumps({"StartAt": "Put0", "States": states}))["stateMachineArn"])


def _finish(client: Any, machine: str, key: str) -> dict[str, Any]:
    run = client.start_execution(stateMachineArn=machine, name=key,
                                 input=json.dumps({"key": key}))["executionArn"]
    deadline = time.monotonic() + HANG_GUARD
    while time.monotonic() < deadline:
        described: dict[str, Any] = client.describe_execution(executionArn=run)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.01)
    raise AssertionError(f"{key} still running")


def test_finished_workflows_leave_no_thread_objects_behind(workflows):
    """moto appended every thread the interpreter started to a list nobody emptied: ~7
    Thread objects per message, kept for as long as the stack ran."""
    import gc

    client, dynamodb = workflows
    machine = _writing_machine(client, TABLE)

    def finished_threads() -> int:
        gc.collect()
        return sum(1 for o in gc.get_objects()
                   if isinstance(o, threading.Thread) and not o.is_alive())

    _finish(client, machine, "warm")
    before = finished_threads()
    for number in range(20):
        assert _finish(client, machine, f"run{number}")["status"] == "SUCCEEDED"
    assert finished_threads() - before < 5  # moto alone: 20 runs x 5 threads
    stored = dynamodb.query(TableName=TABLE, KeyConditionExpression="PK = :k",
                            ExpressionAttributeValues={":k": {"S": "run19"}})["Items"]
    assert sorted(item["SK"]["S"] for item in stored) == ["0", "1", "2"]


def test_task_states_run_on_reused_threads_and_still_fail_as_on_aws(workflows):
    client, _ = workflows
    machine = _writing_machine(client, TABLE)
    for number in range(10):  # one after another: one idle worker serves every Task state
        assert _finish(client, machine, f"seq{number}")["status"] == "SUCCEEDED"
    workers = [t for t in threading.enumerate() if t.name == "reused-worker"]
    assert 1 <= len(workers) <= 4  # an execution, its program, a Task state

    failing = _writing_machine(client, "no-such-table", tasks=1)
    described = _finish(client, failing, "lost")
    assert described["status"] == "FAILED"
    assert "ResourceNotFound" in described.get("error", "")
    assert _finish(client, machine, "after")["status"] == "SUCCEEDED"  # the worker lives on


def test_execution_names_stay_unique_and_executions_are_found_by_name_and_arn(workflows):
    """StartExecution's name check and DescribeExecution walked every execution the state
    machine ever ran (O(executions) per message); now a lookup, with moto's answers."""
    client, _ = workflows
    writer = _writing_machine(client, TABLE, tasks=1)
    runs = {f"run{n}": _finish(client, writer, f"run{n}")["executionArn"] for n in range(30)}
    for name, arn in runs.items():
        described = client.describe_execution(executionArn=arn)
        assert (described["name"], described["status"]) == (name, "SUCCEEDED")
    with pytest.raises(ClientError, match="ExecutionAlreadyExists"):  # finished: never reused
        client.start_execution(stateMachineArn=writer, name="run7",
                               input=json.dumps({"key": "run7"}))

    held = client.create_state_machine(
        name="held", roleArn="arn:aws:iam::123456789012:role/workflow",
        definition=json.dumps({"StartAt": "Hold", "States": {
            "Hold": {"Type": "Wait", "Seconds": 600, "End": True}}}))["stateMachineArn"]
    first = client.start_execution(stateMachineArn=held, name="h", input="{}")["executionArn"]
    again = client.start_execution(stateMachineArn=held, name="h", input="{}")["executionArn"]
    assert again == first  # the same name and input of a running execution: that execution
    with pytest.raises(ClientError, match="ExecutionAlreadyExists"):
        client.start_execution(stateMachineArn=held, name="h", input='{"other": 1}')
    _until_waiting(client, first)  # moto cannot stop an execution its thread has not begun
    client.stop_execution(executionArn=first)
    deadline = time.monotonic() + HANG_GUARD  # the program notices the stop in its thread
    while client.describe_execution(executionArn=first)["status"] == "RUNNING":
        assert time.monotonic() < deadline, "the stopped execution still runs"
        time.sleep(0.01)
    assert client.describe_execution(executionArn=first)["status"] == "ABORTED"
    with pytest.raises(ClientError, match="ExecutionDoesNotExist"):
        client.describe_execution(executionArn=first.replace(":h", ":nobody"))


def _until_waiting(client: Any, execution_arn: str) -> None:
    deadline = time.monotonic() + HANG_GUARD
    while time.monotonic() < deadline:
        try:
            events = client.get_execution_history(executionArn=execution_arn)["events"]
        except ClientError:
            events = []  # no history until the execution's thread has begun
        if any(event["type"] == "WaitStateEntered" for event in events):
            return
        time.sleep(0.01)
    raise AssertionError(f"{execution_arn} never reached its Wait state")
