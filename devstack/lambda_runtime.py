"""Runs moto's Lambda functions in-process: the real handler from the functions/ bundle.

moto without Docker only echoes the payload. Every invocation path of moto (boto3 `invoke`,
Step Functions Lambda tasks, event-source mappings) ends in
`LambdaFunction._invoke_lambda(self, event) -> (json_text, errored, logs)`, so replacing that
one method runs our handlers for all of them, in server mode too.

All functions share this process, and their Powertools Loggers share one formatter (same
service name, so the same stdlib logger and handler); `inject_lambda_context` writes the
invocation's keys (function_name, request id, cold_start) into that shared formatter, so a
line would name whichever function was invoked last on any thread. While installed, a filter
on the Powertools handlers puts the keys of the invocation running on the record's own thread
on each record instead (none outside an invocation, as for a handler without the
decorator)."""

from __future__ import annotations

import decimal
import importlib
import json
import logging
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from devstack import aws_calls, request_ids

logger = logging.getLogger(__name__)

FUNCTIONS_DIR = Path(__file__).resolve().parents[1] / "functions"

Handler = Callable[[Any, Any], Any]


ACCOUNT_ID = "123456789012"  # moto's default account
REGION = "us-east-1"


@dataclass
class LambdaContext:
    """The attributes of the Python runtime's context object that handlers and Powertools
    use; the one context of the local stack (moto's invocations and the local gateway) and
    of the tests: `LambdaContext("name")` is enough, the rest has Lambda's defaults."""

    function_name: str
    memory_limit_in_mb: int = 1024
    timeout_seconds: float = 29.0
    aws_request_id: str = field(default_factory=request_ids.request_id)
    function_version: str = "$LATEST"
    invoked_function_arn: str = ""  # "": the function's ARN in moto's account
    log_group_name: str = ""  # "": /aws/lambda/<function_name>
    log_stream_name: str = ""  # "": a new stream of today's, as Lambda names them
    identity: Any = None
    client_context: Any = None
    _started: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.invoked_function_arn = self.invoked_function_arn or (
            f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function_name}")
        self.log_group_name = self.log_group_name or f"/aws/lambda/{self.function_name}"
        self.log_stream_name = self.log_stream_name or (
            f"{datetime.now(UTC):%Y/%m/%d}/[{self.function_version}]{request_ids.uuid4().hex}")

    def get_remaining_time_in_millis(self) -> int:
        left = self.timeout_seconds - (time.monotonic() - self._started)
        return max(0, int(left * 1000))


def resolve_handler(handler: str) -> Handler:
    """`module.attr` as Lambda reads it from the Handler setting, imported from functions/."""
    module_name, _, attr = handler.rpartition(".")
    if not module_name:
        raise ValueError(f"bad handler {handler!r}: expected 'module.function'")
    return getattr(importlib.import_module(module_name), attr)


def _to_json(value: Any) -> str:
    # The Python runtime serializes Decimal as a number and refuses anything else unknown.
    def default(item: Any) -> Any:
        if isinstance(item, decimal.Decimal):
            return int(item) if item == item.to_integral_value() else float(item)
        raise TypeError(f"Object of type {type(item).__name__} is not JSON serializable")

    return json.dumps(value, default=default)


def _error(kind: str, message: str, request_id: str, trace: list[str]) -> str:
    return json.dumps({"errorMessage": message, "errorType": kind, "requestId": request_id,
                       "stackTrace": trace})


# The keys Powertools' inject_lambda_context adds to every line (LambdaContextModel + cold_start).
LOG_CONTEXT_KEYS = ("cold_start", "function_name", "function_memory_size", "function_arn",
                    "function_request_id")
_invocation: ContextVar[dict[str, Any] | None] = ContextVar("lambda_invocation", default=None)
_warm: set[str] = set()  # functions invoked before in this process (one "container" each)


@contextmanager
def running(context: LambdaContext) -> Iterator[None]:
    """Log lines written on this thread (and its asyncio tasks) name this invocation."""
    cold = context.invoked_function_arn not in _warm
    _warm.add(context.invoked_function_arn)
    token = _invocation.set({
        "cold_start": cold, "function_name": context.function_name,
        "function_memory_size": context.memory_limit_in_mb,
        "function_arn": context.invoked_function_arn,
        "function_request_id": context.aws_request_id,
    })
    try:
        yield
    finally:
        _invocation.reset(token)  # a nested invocation hands its caller's keys back


class _InvocationLogKeys(logging.Filter):
    """On a Powertools handler: the record carries the keys of the invocation running on its
    thread; record attributes win over the shared formatter's keys (`extras`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        keys = _invocation.get() or {}
        for name in LOG_CONTEXT_KEYS:
            setattr(record, name, keys.get(name))  # None: Powertools leaves the key out
        return True


_log_keys = _InvocationLogKeys()
_filtered_handlers: list[logging.Handler] = []
_scanned_handlers: set[str] = set()


def _filter_powertools_handlers(handler: str) -> None:
    """Puts the filter on every Powertools handler, once per newly imported function module
    (its `Logger()` runs at import)."""
    with _lock:
        if _original is None or handler in _scanned_handlers:
            return
        _scanned_handlers.add(handler)
        for item in list(logging.root.manager.loggerDict.values()):
            found = getattr(item, "powertools_handler", None)
            if isinstance(found, logging.Handler) and _log_keys not in found.filters:
                found.addFilter(_log_keys)
                _filtered_handlers.append(found)


def invoke(function: Any, event: Any) -> tuple[str, bool, str]:
    """Calls the handler of a moto `LambdaFunction` with the event; Lambda's result shape."""
    if isinstance(event, (str, bytes)):  # moto passes "{}" (a string) for an empty payload
        event = json.loads(event or "{}")
    request_id = request_ids.request_id()
    timeout = float(function.timeout or 3)
    context = LambdaContext(
        function_name=function.function_name,
        function_version=str(function.version),
        invoked_function_arn=function.function_arn,
        memory_limit_in_mb=int(function.memory_size or 128),
        aws_request_id=request_id,
        log_group_name=function.logs_group_name,
        log_stream_name=f"local/[{function.version}]{request_id}",
        timeout_seconds=timeout,
    )
    started = time.monotonic()
    errored = False
    try:
        handler = resolve_handler(function.handler)
        _filter_powertools_handlers(function.handler)
        with running(context):
            result = aws_calls.spent_in("functions", lambda: handler(event, context))
        try:
            payload = _to_json(result)
        except (TypeError, ValueError) as problem:
            errored = True
            payload = _error("Runtime.MarshalError", f"Unable to marshal response: {problem}",
                             request_id, [])
    except Exception as problem:  # the handler's failure is the invocation's result
        errored = True
        trace = traceback.format_exception(problem)
        logger.warning("%s failed: %s", function.function_name, "".join(trace).rstrip())
        payload = _error(type(problem).__name__, str(problem), request_id,
                         traceback.format_tb(problem.__traceback__))
    elapsed = time.monotonic() - started
    if elapsed > timeout:
        # A thread cannot be killed; say loudly what AWS would have done instead.
        logger.warning("%s ran %.1f s, over its %.0f s timeout: AWS would time it out",
                       function.function_name, elapsed, timeout)
    logs = (f"START RequestId: {request_id}\nEND RequestId: {request_id}\n"
            f"REPORT RequestId: {request_id}\tDuration: {elapsed * 1000:.2f} ms")
    return payload, errored, logs


_lock = threading.Lock()
_original: Any = None


def install() -> None:
    """Routes moto's Lambda invocations to `invoke`, and names each invocation's own function
    in its log lines; idempotent."""
    global _original
    from moto.awslambda.models import LambdaFunction

    with _lock:
        if _original is not None:
            return
        if str(FUNCTIONS_DIR) not in sys.path:
            sys.path.insert(0, str(FUNCTIONS_DIR))
        _original = LambdaFunction._invoke_lambda

        def _invoke_lambda(self: Any, event: Any = None) -> tuple[str, bool, str]:
            return invoke(self, event)

        LambdaFunction._invoke_lambda = _invoke_lambda  # type: ignore[method-assign]


def uninstall() -> None:
    """Gives moto back its own (Docker) invocation, so later plain moto tests see no change."""
    global _original
    from moto.awslambda.models import LambdaFunction

    with _lock:
        if _original is not None:
            LambdaFunction._invoke_lambda = _original  # type: ignore[method-assign]
            _original = None
        for handler in _filtered_handlers:
            handler.removeFilter(_log_keys)
        _filtered_handlers.clear()
        _scanned_handlers.clear()
        _warm.clear()  # the next stack's functions start cold, as new containers would
