"""Counts what the embedded AWS serves, whoever asks (handlers, the Step Functions
interpreter, the stream poller): DynamoDB operations (a test proves no Scan ever ran), the
other services' requests (Lambda invokes, S3, Step Functions, SSM; API Gateway requests and
stream records delivered, counted by devstack's gateway and poller) and the workflow states
the interpreter entered. `make bench` prices one message's real count of these to state the
ceiling the embedded AWS sets on the stack's throughput (bench/ceiling.py)."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

_dynamodb: Counter[str] = Counter()
_others: Counter[str] = Counter()  # "lambda Invoke", "s3 PUT", "stepfunctions StartExecution"
_states = 0  # every state entered
_executing = 0  # of which Task, Map and Parallel states (moto runs each in its own thread)
_cpu = {"aws": 0.0, "functions": 0.0}  # CPU seconds inside the embedded AWS, in handlers
_lock = threading.Lock()
_installed = False
_regions = threading.local()
T = TypeVar("T")
SAMPLED_ONE_IN = 8
_sampler = random.Random()


def spent_in(kind: str, work: Callable[[], T]) -> T:
    """Runs `work`, adding the CPU time this thread spent in it to `kind` ("aws" or
    "functions"), less what regions nested in it took (a handler's DynamoDB calls are the
    embedded AWS's; a Lambda invoke's handler is ours). Thread CPU time: waiting for the GIL
    or a lock costs nothing here. Reading it is a system call (~30 µs on this VM, ~10% of
    the stack's CPU when every region read it), so one outermost region in SAMPLED_ONE_IN is
    measured, chosen at random, with what nests in it, and counted that many times."""
    stack: list[list[float] | None] = _regions.__dict__.setdefault("stack", [])
    unmeasured = stack[-1] is None if stack else _sampler.random() * SAMPLED_ONE_IN >= 1
    if unmeasured:
        stack.append(None)  # not measured, nor anything nested in it
        try:
            return work()
        finally:
            stack.pop()
    region = [time.thread_time(), 0.0]  # start, nested
    stack.append(region)
    try:
        return work()
    finally:
        stack.pop()
        elapsed = time.thread_time() - region[0]
        with _lock:
            _cpu[kind] += (elapsed - region[1]) * SAMPLED_ONE_IN
        outer = stack[-1] if stack else None
        if outer is not None:
            outer[1] += elapsed


def count(name: str, amount: int = 1) -> None:
    """A request the embedded AWS served outside moto (the gateway playing API Gateway, the
    stream poller playing Lambda's event source mapping)."""
    with _lock:
        _others[name] += amount


def install() -> None:
    global _installed
    if _installed:
        return
    from moto.core.botocore_stubber import BotocoreStubber
    from moto.dynamodb.responses import DynamoHandler
    from moto.stepfunctions.parser.asl.component.state.exec.execute_state import (
        ExecutionState,
    )
    from moto.stepfunctions.parser.asl.component.state.state import CommonStateField

    call_action = DynamoHandler.call_action
    process_request = BotocoreStubber.process_request
    eval_state = CommonStateField._eval_body

    def counting_call_action(self: Any) -> Any:
        with _lock:
            _dynamodb[self._get_action()] += 1
        return spent_in("aws", lambda: call_action(self))

    def counting_process_request(self: Any, request: Any) -> Any:
        name = request_name(request.url, request.method, request.headers)
        if not name.startswith("dynamodb "):  # counted once, by the operation, above
            with _lock:
                _others[name] += 1
        return spent_in("aws", lambda: process_request(self, request))

    def counting_eval_state(self: Any, env: Any) -> None:
        global _states, _executing
        with _lock:
            _states += 1
            _executing += isinstance(self, ExecutionState)
        spent_in("aws", lambda: eval_state(self, env))

    DynamoHandler.call_action = counting_call_action  # type: ignore[method-assign]
    BotocoreStubber.process_request = counting_process_request  # type: ignore[method-assign]
    CommonStateField._eval_body = counting_eval_state  # type: ignore[method-assign]
    _installed = True


def request_name(url: str, method: str, headers: Any) -> str:
    """"service Operation" of an AWS request as it reaches moto: the JSON protocol's target
    header names it; Lambda's REST paths and S3's methods say enough for a count."""
    parts = urlsplit(url)
    host = parts.netloc.split(":")[0]
    labels = host.split(".")
    service = "s3" if "s3" in labels or host.endswith("s3.amazonaws.com") else labels[0]
    target = headers.get("X-Amz-Target") if headers is not None else None
    if target:
        if isinstance(target, bytes):
            target = target.decode()
        return f"{service} {target.rsplit('.', 1)[-1]}"
    if service == "lambda" and parts.path.endswith("/invocations"):
        return "lambda Invoke"
    return f"{service} {method}"


def snapshot() -> dict[str, Any]:
    """{"dynamodb": {operation: n}, "others": {"service operation": n}, "states": n,
    "executing_states": n, "cpu_seconds": {"aws": s, "functions": s}}."""
    with _lock:
        return {"dynamodb": dict(_dynamodb), "others": dict(_others), "states": _states,
                "executing_states": _executing, "cpu_seconds": dict(_cpu)}
