"""The ceiling the embedded AWS sets on the local stack's throughput.

Issue "local stack that holds up" asks for the rate of bare moto `transact_write_items` in
the same process as the ceiling, taken with one message's real count of calls and workflow
steps. This module measures, in this process on a fresh embedded AWS (moto with devstack's
patches, as `make run` runs it), what each kind of request costs when nothing else runs:
every DynamoDB operation the stack uses, a Lambda invoke of a handler that does nothing, S3
puts and gets, a Step Functions execution and each state it enters, an HTTP request through
the local gateway (API Gateway) to a handler that does nothing, and a stream record handed to
such a function by the stream poller (Lambda's event source mapping). `price` multiplies those
unit costs by the counts one message really caused (the stack's /_local/aws-calls over a
run): the milliseconds a message costs the embedded AWS alone, so 1000 / that is the most
messages per second the stack could take if our own code cost nothing.
"""

from __future__ import annotations

import io
import json
import threading
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

TABLE = "ceiling"
STREAM_BATCH = 25  # the template's BatchSize of the stream mapping
STATES_LONG = 21  # Pass states of the long machine; the short one has 1


def noop(event: Any, context: Any) -> dict[str, Any]:
    """The Lambda handler of the ceiling: returns at once (bench.ceiling.noop)."""
    return {"ok": True}


@dataclass
class UnitCosts:
    """Milliseconds per request on an idle embedded AWS (`callers` threads at once: the
    throughput of the whole process divided out, so that a cost is what one request takes
    of the process's time)."""
    dynamodb: dict[str, float]  # operation -> ms, on the stack's direct in-process path
    bare_transact: float  # a 2-item TransactWriteItems through a boto3 client's usual path
    others: dict[str, float]  # "lambda Invoke", "s3 PUT", "s3 GET", ...
    state: float  # a Pass (or Choice, Wait, Succeed, Fail) state entered
    task_state: float  # a Task state's own cost (its service call is priced apart)
    execution: float  # StartExecution and the execution's start and end, beyond its states
    callers: int = 1

    @property
    def transact_per_second(self) -> tuple[float, float]:
        """(bare, direct) 2-item transactions per second: the figure the issue names."""
        return 1000 / self.bare_transact, 1000 / self.dynamodb["TransactWriteItems"]


@dataclass
class Priced:
    """One message's cost to the embedded AWS: count x unit cost per kind of request."""
    rows: list[tuple[str, float, float]] = field(default_factory=list)  # name, count, ms
    unpriced: list[str] = field(default_factory=list)

    @property
    def ms(self) -> float:
        return sum(count * ms for _, count, ms in self.rows)

    @property
    def messages_per_second(self) -> float:
        return 1000 / self.ms if self.ms else float("inf")


def price(calls: dict[str, Any], messages: int, costs: UnitCosts) -> Priced:
    """`calls`: the difference of two /_local/aws-calls snapshots around `messages`
    messages. A DynamoDB operation not measured is priced as a transaction (the dearest);
    another service's request as a Lambda invoke; both are listed in `unpriced`."""
    priced = Priced()
    for operation, count in sorted(calls.get("dynamodb", {}).items()):
        unit = costs.dynamodb.get(operation)
        if unit is None:
            unit = costs.dynamodb["TransactWriteItems"]
            priced.unpriced.append(f"dynamodb {operation}")
        priced.rows.append((f"dynamodb {operation}", count / messages, unit))
    for name, count in sorted(calls.get("others", {}).items()):
        if count < messages / 100:
            continue  # setup requests (a function looked up once), not per message
        if name == "states StartExecution":
            unit = costs.execution
        else:
            measured = costs.others.get(name)
            if measured is None:
                unit = costs.others["lambda Invoke"]
                priced.unpriced.append(name)
            else:
                unit = measured
        priced.rows.append((name, count / messages, unit))
    executing = calls.get("executing_states", 0)
    priced.rows.append(("workflow Task/Map states", executing / messages, costs.task_state))
    priced.rows.append(("workflow other states", (calls.get("states", 0) - executing) / messages,
                        costs.state))
    return priced


def difference(after: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    """What happened between two /_local/aws-calls snapshots."""
    def minus(now: dict[str, int], then: dict[str, int]) -> dict[str, int]:
        return {name: count - then.get(name, 0) for name, count in now.items()
                if count - then.get(name, 0)}
    return {"dynamodb": minus(after.get("dynamodb", {}), before.get("dynamodb", {})),
            "others": minus(after.get("others", {}), before.get("others", {})),
            "states": after.get("states", 0) - before.get("states", 0),
            "executing_states": (after.get("executing_states", 0)
                                 - before.get("executing_states", 0)),
            "cpu_seconds": {kind: seconds - before.get("cpu_seconds", {}).get(kind, 0.0)
                            for kind, seconds in after.get("cpu_seconds", {}).items()}}


# --- measuring ----------------------------------------------------------------------------
def measure(seconds: float = 2.0, callers: int = 1) -> UnitCosts:
    """Unit costs on a fresh embedded AWS in this process (no stack may run in it), each
    kind of request sent by `callers` threads at once (workflows always run together)."""
    import boto3

    from devstack import aws_calls, dynamodb_direct
    from devstack.aws import EmbeddedAws
    from tests.support.template import table_create_args

    with EmbeddedAws() as aws:
        aws_calls.install()  # the stack counts every request too: its cost is in the figure
        dynamodb = boto3.client("dynamodb")
        dynamodb.create_table(**table_create_args(TABLE), StreamSpecification={
            "StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
        operations = _dynamodb_operations(dynamodb)
        with dynamodb_direct.bypassed():
            bare = _ms_each(operations["TransactWriteItems"], seconds)
        direct = {name: _ms_each(call, seconds, callers) for name, call in operations.items()}
        others, function_arn = _lambda_and_s3(seconds, callers)
        others["apigateway request"] = _gateway_request(seconds, callers)
        one, many = (_stream_record(aws, dynamodb, function_arn, batch_size)
                     for batch_size in (1, STREAM_BATCH))
        # Per record in batches of 1 = a batch + a record; of STREAM_BATCH = a record + a share.
        batch = max(0.0, (one - many) * STREAM_BATCH / (STREAM_BATCH - 1))
        others["dynamodb-streams batch"] = batch
        others["dynamodb-streams record"] = max(0.0, one - batch)
        state, task_state, execution = _workflow_costs(function_arn, others["lambda Invoke"])
        return UnitCosts(dynamodb=direct, bare_transact=bare, others=others, state=state,
                         task_state=task_state, execution=execution, callers=callers)


def _ms_each(call: Callable[[int], Any], seconds: float, callers: int = 1) -> float:
    """Milliseconds of the process per call, `callers` threads calling for `seconds`."""
    counts = [0] * callers
    began = time.monotonic()

    def keep_calling(caller: int) -> None:
        while time.monotonic() - began < seconds:
            call(next(_counter))
            counts[caller] += 1

    threads = [threading.Thread(target=keep_calling, args=(n,)) for n in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return 1000 * (time.monotonic() - began) / sum(counts)


_counter = iter(range(10**9))


def _ticket_item(key: str) -> dict[str, Any]:
    """About the size and shape of a ticket item."""
    return {"PK": {"S": key}, "SK": {"S": "TICKET"}, "title": {"S": "Не проходит оплата"},
            "status_id": {"S": "open"}, "priority_id": {"N": "1"}, "user_id": {"N": "42"},
            "department_id": {"N": "1"}, "owner_id": {"N": "0"}, "version": {"N": "1"},
            "tags": {"L": [{"S": "billing"}]}, "created": {"S": "2026-12-04T10:00:00Z"},
            "updated": {"S": "2026-12-04T10:00:00Z"}, "source": {"S": "email"},
            "text": {"S": "Здравствуйте! Карта отклонена, что делать? " * 8}}


def _dynamodb_operations(client: Any) -> dict[str, Callable[[int], Any]]:
    client.put_item(TableName=TABLE, Item=_ticket_item("T#read"))
    for number in range(5):
        client.put_item(TableName=TABLE, Item={
            "PK": {"S": "T#read"}, "SK": {"S": f"POST#{number:06d}"},
            "text": {"S": "Здравствуйте! Карта отклонена." * 4}})

    def transact(_: int) -> Any:
        key = f"T#tx{next(_counter)}"
        return client.transact_write_items(TransactItems=[
            {"Put": {"TableName": TABLE, "Item": _ticket_item(key),
                     "ConditionExpression": "attribute_not_exists(PK)"}},
            {"Put": {"TableName": TABLE, "Item": {
                "PK": {"S": key}, "SK": {"S": "POST#000001"},
                "text": {"S": "Здравствуйте! Карта отклонена."}}}}])

    return {
        "GetItem": lambda _: client.get_item(
            TableName=TABLE, Key={"PK": {"S": "T#read"}, "SK": {"S": "TICKET"}}),
        "Query": lambda _: client.query(
            TableName=TABLE, KeyConditionExpression="PK = :pk AND begins_with(SK, :post)",
            ExpressionAttributeValues={":pk": {"S": "T#read"}, ":post": {"S": "POST#"}}),
        "PutItem": lambda _: client.put_item(
            TableName=TABLE, Item=_ticket_item(f"T#put{next(_counter)}"),
            ConditionExpression="attribute_not_exists(PK)"),
        "UpdateItem": lambda _: client.update_item(
            TableName=TABLE, Key={"PK": {"S": "COUNTER"}, "SK": {"S": "ticket"}},
            UpdateExpression="ADD #v :one", ExpressionAttributeNames={"#v": "value"},
            ExpressionAttributeValues={":one": {"N": "1"}}, ReturnValues="UPDATED_NEW"),
        "DeleteItem": lambda _: client.delete_item(
            TableName=TABLE, Key={"PK": {"S": f"T#none{next(_counter)}"}, "SK": {"S": "X"}}),
        "TransactWriteItems": transact,
    }


def _lambda_and_s3(seconds: float, callers: int) -> tuple[dict[str, float], str]:
    import boto3

    role = boto3.client("iam").create_role(
        RoleName="ceiling", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17",
                                                                 "Statement": []}))
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("noop.py", "")
    lambda_client = boto3.client("lambda")
    function_arn = lambda_client.create_function(
        FunctionName="ceiling-noop", Runtime="python3.11", Role=role["Role"]["Arn"],
        Handler="bench.ceiling.noop", Code={"ZipFile": code.getvalue()})["FunctionArn"]
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="ceiling")
    s3.put_object(Bucket="ceiling", Key="inbound/0", Body=b"read by the GETs")
    mail = ("From: a@example.com\r\nSubject: Оплата\r\n\r\n" + "Здравствуйте! " * 200).encode()
    payload = json.dumps({"Records": [{"eventSource": "aws:ses", "ses": {"mail": {
        "messageId": "x" * 40, "commonHeaders": {"subject": "Оплата"}}}}]})
    return {
        "lambda Invoke": _ms_each(lambda _: lambda_client.invoke(
            FunctionName="ceiling-noop", Payload=payload)["Payload"].read(), seconds, callers),
        "s3 PUT": _ms_each(lambda n: s3.put_object(
            Bucket="ceiling", Key=f"inbound/{n}", Body=mail), seconds, callers),
        "s3 GET": _ms_each(lambda _: s3.get_object(
            Bucket="ceiling", Key="inbound/0")["Body"].read(), seconds, callers),
    }, function_arn


def _gateway_request(seconds: float, callers: int) -> float:
    """Milliseconds of the process's CPU per HTTP request through the local gateway to a
    handler that answers at once, the clients' own CPU left out (in the bench they are
    another process). Keep-alive connections, a small JSON body, as a provider posts."""
    import http.client

    from devstack.gateway import LocalGateway, Route

    body = json.dumps({"update_id": 1, "message": {"text": "Здравствуйте! " * 8}}).encode()
    client_cpu = [0.0] * callers
    sent = [0] * callers
    with LocalGateway([Route("/webhooks", _noop_proxy, "/webhooks/{proxy+}")],
                      quiet=True) as gateway:
        host, port = gateway.url.removeprefix("http://").split(":")
        began_cpu, began = time.process_time(), time.monotonic()

        def keep_posting(caller: int) -> None:
            connection = http.client.HTTPConnection(host, int(port), timeout=30)
            started = time.thread_time()
            while time.monotonic() - began < seconds:
                connection.request("POST", "/webhooks/telegram/1", body,
                                   {"Content-Type": "application/json"})
                connection.getresponse().read()
                sent[caller] += 1
            client_cpu[caller] = time.thread_time() - started
            connection.close()

        threads = [threading.Thread(target=keep_posting, args=(n,)) for n in range(callers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        spent = time.process_time() - began_cpu - sum(client_cpu)
    return 1000 * spent / sum(sent)


def _noop_proxy(event: Any, context: Any) -> dict[str, Any]:
    return {"statusCode": 200, "body": "{}"}


def _stream_record(aws: Any, client: Any, function_arn: str, batch_size: int,
                   records: int = 500) -> float:
    """Milliseconds of the process's CPU per stream record the poller hands, in batches of
    `batch_size`, to a function that does nothing (the template's filter shape), less what
    the same writes cost without a consumer."""
    stream_arn = client.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]

    def writes(prefix: str) -> float:
        began = time.process_time()
        for number in range(records):
            client.put_item(TableName=TABLE, Item={
                "PK": {"S": f"{prefix}{number}"}, "SK": {"S": "EVENT#000000000001"},
                "item_type": {"S": "ticket_event"}, "kind": {"S": "post_added"}})
        if not aws.wait_for_streams(60):
            raise RuntimeError("the stream poller did not catch up in 60 s")
        return time.process_time() - began

    alone = writes(f"E#alone{batch_size}-")
    import boto3

    mapping = boto3.client("lambda").create_event_source_mapping(
        EventSourceArn=stream_arn, FunctionName=function_arn, StartingPosition="LATEST",
        BatchSize=25, FilterCriteria={"Filters": [{"Pattern": json.dumps(
            {"eventName": ["INSERT"],
             "dynamodb": {"NewImage": {"item_type": {"S": ["ticket_event"]}}}})}]})
    try:
        consumed = writes(f"E#consumed{batch_size}-")
    finally:
        boto3.client("lambda").delete_event_source_mapping(UUID=mapping["UUID"])
    return 1000 * max(0.0, consumed - alone) / records


def _workflow_costs(function_arn: str, invoke_ms: float,
                    executions: int = 60) -> tuple[float, float, float]:
    """(ms per Pass state, ms per Task state beyond its Lambda invoke, ms per execution
    beyond its states): `executions` runs each of a 1-state machine, of STATES_LONG Pass
    states and of a Pass then STATES_LONG - 1 Task states invoking the no-op function
    (`lambda:invoke`, as our workflows do), started together as the stream starts them and
    timed until the last one ended."""
    import boto3

    client = boto3.client("stepfunctions")
    role = "arn:aws:iam::123456789012:role/ceiling"
    task = {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": function_arn, "Payload.$": "$"},
            "ResultPath": None}

    def machine(name: str, states: int, kind: dict[str, Any]) -> str:
        names = [f"S{number}" for number in range(states)]
        definition = {"StartAt": names[0], "States": {
            name: ({"Type": "Pass"} if index == 0 else kind)
            | ({"Next": names[index + 1]} if index + 1 < states else {"End": True})
            for index, name in enumerate(names)}}
        return str(client.create_state_machine(
            name=name, definition=json.dumps(definition), roleArn=role)["stateMachineArn"])

    def run_all(arn: str) -> float:
        began = time.monotonic()
        for _ in range(executions):
            client.start_execution(stateMachineArn=arn, name=f"run-{next(_counter)}",
                                   input='{"ticket_id": 1}')
        _wait_finished(arn)
        return 1000 * (time.monotonic() - began)

    short = machine("ceiling-1", 1, {"Type": "Pass"})
    passes = machine("ceiling-pass", STATES_LONG, {"Type": "Pass"})
    tasks = machine("ceiling-task", STATES_LONG, task)
    run_all(short)  # warm: the interpreter's caches, as in a running stack
    one = run_all(short)
    per_state = (run_all(passes) - one) / (executions * (STATES_LONG - 1))
    per_task = (run_all(tasks) - one) / (executions * (STATES_LONG - 1)) - invoke_ms
    return per_state, per_task, one / executions - per_state


def _wait_finished(machine_arn: str, limit: float = 300) -> None:
    """Asks the backend, not the API: polling requests must not add to the figure."""
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    machine = stepfunctions_parser_backends["123456789012"]["us-east-1"] \
        .describe_state_machine(machine_arn)
    pause = threading.Event()
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if not any(str(getattr(run.status, "value", run.status)) == "RUNNING"
                   for run in machine.executions):
            return
        pause.wait(0.005)
    raise RuntimeError(f"ceiling executions of {machine_arn} still running after {limit} s")
