"""devstack/lambda_runtime.py: every Powertools log line names the Lambda running on its own
thread, though all functions share one process and one Powertools formatter (issue 12)."""

from __future__ import annotations

import io
import json
import logging
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from devstack import lambda_runtime

SERVICE = "lognames"  # one service for all, as POWERTOOLS_SERVICE_NAME in the template

SHARED = f'''
import io, threading
STREAM = io.StringIO()
BARRIER = threading.Barrier(2, timeout=10)
SERVICE = {SERVICE!r}
'''

# Like functions/*/handler.py: a module-level Logger() and inject_lambda_context, plus a line
# from a domain module's stdlib logger (a child of the service logger, as helpdesk.* is).
HANDLER = '''
import logging
from aws_lambda_powertools import Logger
import lognames_shared as shared

logger = Logger(service=shared.SERVICE, level="INFO", stream=shared.STREAM)
domain = logging.getLogger(shared.SERVICE + ".domain")

@logger.inject_lambda_context
def handler(event, context):
    if event.get("together"):
        shared.BARRIER.wait()  # both invocations have put their keys in the formatter
    logger.info("{name} one", extra={{"who": "{name}"}})
    domain.info("{name} domain", extra={{"who": "{name}"}})
    if event.get("together"):
        shared.BARRIER.wait()
    if event.get("then"):
        import devstack.lambda_runtime as runtime
        runtime.invoke(event["then"], {{}})  # a nested invocation on the same thread
    logger.info("{name} two", extra={{"who": "{name}"}})
    return {{"ok": "{name}"}}
'''


def _function(name: str, module: str) -> SimpleNamespace:
    # The attributes of moto's LambdaFunction that the runtime reads.
    return SimpleNamespace(
        function_name=f"helpdesk-{name}Function-TEST", version="$LATEST",
        function_arn=f"arn:aws:lambda:us-east-1:123456789012:function:helpdesk-{name}Function-TEST",
        memory_size=256, handler=f"{module}.handler", timeout=30,
        logs_group_name=f"/aws/lambda/helpdesk-{name}Function-TEST")


@pytest.fixture
def stream(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    (tmp_path / "lognames_shared.py").write_text(SHARED)
    for name in ("ingest", "stream", "rules"):
        (tmp_path / f"lognames_{name}.py").write_text(
            textwrap.dedent(HANDLER.format(name=name)))
    monkeypatch.syspath_prepend(str(tmp_path))
    was_installed = lambda_runtime._original is not None
    lambda_runtime.install()
    try:
        import lognames_shared  # type: ignore[import-not-found]

        yield lognames_shared.STREAM
    finally:
        if not was_installed:
            lambda_runtime.uninstall()
        for module in [m for m in sys.modules if m.startswith("lognames_")]:
            del sys.modules[module]
        service_logger = logging.getLogger(SERVICE)
        for handler in list(service_logger.handlers):
            service_logger.removeHandler(handler)
        for attribute in ("init", "powertools_handler"):
            if hasattr(service_logger, attribute):
                delattr(service_logger, attribute)


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def _request_id(logs: str) -> str:
    return logs.split("START RequestId: ", 1)[1].split("\n", 1)[0]


def test_concurrent_invocations_each_log_their_own_function(stream: io.StringIO) -> None:
    ingest, streams = _function("IngestEmail", "lognames_ingest"), _function("Stream",
                                                                            "lognames_stream")
    results: dict[str, tuple[str, bool, str]] = {}

    def run(function: SimpleNamespace) -> None:
        results[function.function_name] = lambda_runtime.invoke(function, {"together": True})

    threads = [threading.Thread(target=run, args=(f,)) for f in (ingest, streams)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert {name: errored for name, (_, errored, _) in results.items()} == {
        ingest.function_name: False, streams.function_name: False}

    by_who = {"ingest": ingest, "stream": streams}
    lines = _lines(stream)
    assert len(lines) == 6
    for line in lines:
        function = by_who[line["who"]]
        assert line["function_name"] == function.function_name, line
        assert line["function_arn"] == function.function_arn, line
        assert line["function_request_id"] == _request_id(results[function.function_name][2])
        assert line["function_memory_size"] == 256
        assert line["cold_start"] is True  # each function's first invocation in its own
    stream.truncate(0)
    stream.seek(0)

    # In turn, on one thread: warm now, and still named right.
    lambda_runtime.invoke(streams, {})
    lambda_runtime.invoke(ingest, {})
    assert [(line["who"], line["function_name"], line["cold_start"])
            for line in _lines(stream)] == (
        [("stream", streams.function_name, False)] * 3
        + [("ingest", ingest.function_name, False)] * 3)


def test_a_nested_invocation_hands_the_name_back(stream: io.StringIO) -> None:
    ingest, rules = _function("IngestEmail", "lognames_ingest"), _function("Rules",
                                                                          "lognames_rules")
    lambda_runtime.invoke(ingest, {"then": rules})
    assert [(line["message"], line["function_name"]) for line in _lines(stream)] == [
        ("ingest one", ingest.function_name), ("ingest domain", ingest.function_name),
        ("rules one", rules.function_name), ("rules domain", rules.function_name),
        ("rules two", rules.function_name), ("ingest two", ingest.function_name)]


def test_lines_outside_an_invocation_name_no_function(stream: io.StringIO) -> None:
    lambda_runtime.invoke(_function("Rules", "lognames_rules"), {})
    logging.getLogger(f"{SERVICE}.domain").info("from a thread no Lambda runs on")
    last = _lines(stream)[-1]
    assert last["message"] == "from a thread no Lambda runs on"
    assert not set(lambda_runtime.LOG_CONTEXT_KEYS) & set(last)
