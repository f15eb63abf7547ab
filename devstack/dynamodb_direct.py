"""DynamoDB calls from inside the local stack's process go straight to moto's DynamoDB
handler, without the HTTP request botocore would sign and moto would parse back.

Why: in `make run` every caller of DynamoDB (the Lambda handlers, the Step Functions
interpreter, the stream poller) lives in the same process as moto. Through moto's botocore
stubber each call still built a signed HTTP request, matched it against every service's URL
patterns, rebuilt it as a werkzeug request, parsed its body back with the service model and
parsed the JSON answer with the model again: about a third of the stack's CPU per message
(py-spy `--gil` profile of 8 concurrent Telegram senders, docs/performance.md).

How: a botocore `before-call` handler (botocore's own short-circuit, as its Stubber uses)
hands the serialized JSON body to `DynamoHandler.call_action` — the same method the HTTP path
ends in, with devstack's lock and call counting around it — and gives botocore the answer as
its parser would have. What it does not take (the HTTP path is unchanged for them):
- clients of another process or with an endpoint URL (the request is not for in-process
  moto), and any call while moto's in-process mock is off;
- control-plane operations (CreateTable, DescribeTable, ...: their answers carry timestamps
  that botocore's parser turns into datetimes);
- requests and answers holding binary attributes ("B", "BS"): their JSON is base64, which
  the model-driven parsers decode.
Errors come back through botocore's own error parser, so callers see the same ClientError.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.parsers import create_parser
from moto.core.botocore_stubber import MockRawResponse

# Data-plane operations whose JSON request and answer need no model-driven conversion.
OPERATIONS = frozenset({
    "GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem",
    "BatchWriteItem", "TransactGetItems", "TransactWriteItems"})
_BINARY = (b'"B":', b'"BS":')
_EVENT = "before-call.dynamodb"
_installed = False


def install() -> None:
    """Idempotent. Clients created afterwards take the direct path: sessions created later
    get it from botocore's built-in handlers (as moto registers its own stubber), and so
    does boto3's default session if it exists already."""
    global _installed
    import boto3
    from botocore.handlers import BUILTIN_HANDLERS

    if not _installed:
        BUILTIN_HANDLERS.append((_EVENT, direct_call))
        if boto3.DEFAULT_SESSION is not None:
            boto3.DEFAULT_SESSION._session.register(_EVENT, direct_call,
                                                    unique_id=__name__)
        _installed = True


def uninstall() -> None:
    """Clients created while installed keep the handler, which then declines every call."""
    global _installed
    from botocore.handlers import BUILTIN_HANDLERS

    if _installed:
        BUILTIN_HANDLERS.remove((_EVENT, direct_call))
        _installed = False


@contextmanager
def bypassed() -> Iterator[None]:
    """Calls made inside take the HTTP path (to compare the two)."""
    global _installed
    was, _installed = _installed, False
    try:
        yield
    finally:
        _installed = was


def direct_call(model: Any, params: dict[str, Any], context: dict[str, Any],
                **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
    """botocore's `before-call` hook: (http response, parsed answer), or None to let the
    call take the usual path."""
    if not _installed or model.name not in OPERATIONS or not _for_in_process_moto(params):
        return None
    body = params["body"]
    if isinstance(body, str):
        body = body.encode()
    if any(marker in body for marker in _BINARY):
        return None
    status, headers, answer = _call_moto(model.name, json.loads(body or b"{}"),
                                         context.get("client_region") or "us-east-1")
    raw = answer.encode() if isinstance(answer, str) else answer
    if status < 300 and not any(marker in raw for marker in _BINARY):
        parsed = json.loads(raw) if raw else {}
    else:
        parsed = _parsed_by_botocore(model, {"status_code": status, "headers": headers,
                                             "body": raw})
    parsed["ResponseMetadata"] = {"RequestId": headers.get("x-amzn-RequestId", ""),
                                  "HTTPStatusCode": status, "HTTPHeaders": headers,
                                  "RetryAttempts": 0}
    return AWSResponse(params["url"], status, headers, MockRawResponse(raw)), parsed


def _parsed_by_botocore(model: Any, response: dict[str, Any]) -> dict[str, Any]:
    """What botocore's endpoint makes of an answer, modeled error fields included (e.g. a
    cancelled transaction's CancellationReasons)."""
    parser = create_parser("json")
    parsed: dict[str, Any] = parser.parse(response, model.output_shape)
    code = parsed.get("Error", {}).get("Code")
    error_shape = model.service_model.shape_for_error_code(code) if code else None
    if error_shape is not None:
        parsed.update(parser.parse(response, error_shape))
    return parsed


def _for_in_process_moto(params: dict[str, Any]) -> bool:
    from moto.core.models import botocore_stubber

    url = str(params.get("url", ""))
    return bool(botocore_stubber.enabled) and ".amazonaws.com" in url


def _call_moto(operation: str, request: dict[str, Any],
               region: str) -> tuple[int, dict[str, str], str | bytes]:
    """What moto's HTTP path ends in (`DynamoHandler.call_action`), given what its request
    parsing would have set on the handler."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.responses import DynamoHandler
    from moto.utilities.utils import get_partition

    target = f"DynamoDB_20120810.{operation}"
    handler = DynamoHandler()
    handler.params = request
    handler.body = request
    handler.raw_body = b""
    handler.headers = {"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.0"}
    handler.querystring = {}
    handler.data = {}
    handler.method = "POST"
    handler.uri = handler.path = handler.raw_path = "/"
    handler.uri_match = {}
    handler.region = region
    handler.partition = get_partition(region)
    handler.current_account = os.environ.get("MOTO_ACCOUNT_ID", DEFAULT_ACCOUNT_ID)
    handler.response_headers = {"server": "amazon.com"}
    status, headers, answer = handler.call_action()
    return int(status), {key: str(value) for key, value in headers.items()}, answer
