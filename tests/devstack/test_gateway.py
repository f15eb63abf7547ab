"""The local API Gateway over real HTTP: the proxy event it builds, the response mapping and
the error answers (404, 413, 502, 504)."""

from __future__ import annotations

import base64
import http.client
import json
import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from devstack.gateway import LocalGateway, Route, build_event
from devstack.lambda_runtime import LambdaContext
from tests.support.concurrency import at_once
from tests.support.timeouts import NETWORK_TIMEOUT

SMALL_LIMIT = 1024  # stands in for API Gateway's 10 MB so the test needs no big buffers
# The integration timeout of the timeout test only: its handler never answers before the test
# is over, so the gateway's 504 is certain; short so that the test stays quick.
TIMEOUT_UNDER_TEST = 0.3


def echo(event: dict[str, Any], context: Any) -> dict[str, Any]:
    seen = {"event": event, "context": {
        "function_name": context.function_name,
        "aws_request_id": context.aws_request_id,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "invoked_function_arn": context.invoked_function_arn,
        "remaining_ms": context.get_remaining_time_in_millis(),
    }}
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"},
            "body": json.dumps(seen)}


def respond(event: dict[str, Any], context: Any) -> Any:
    """Answers with whatever proxy response the request body spells out."""
    return json.loads(event["body"])


def boom(event: dict[str, Any], context: Any) -> dict[str, Any]:
    raise RuntimeError("handler exploded")


@pytest.fixture(scope="module")
def gateway() -> Iterator[LocalGateway]:
    routes = [
        Route("/api/v2", echo, "/api/v2/{proxy+}", function_name="api"),
        Route("/webhooks", echo, "/webhooks/{proxy+}"),
        Route("/respond", respond, "/respond/{proxy+}"),
        Route("/boom", boom, "/boom/{proxy+}"),
    ]
    # Handlers answer in microseconds: the integration timeout only guards against a hang.
    with LocalGateway(routes, port=0, quiet=True, max_body_bytes=SMALL_LIMIT,
                      integration_timeout=NETWORK_TIMEOUT) as running:
        yield running


@pytest.fixture
def session(gateway: LocalGateway) -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def seen(response: requests.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return response.json()["event"]


# --- the event --------------------------------------------------------------------------

def test_event_for_a_proxy_path_keeps_trailing_slash_and_decodes_params(
        gateway: LocalGateway, session: requests.Session) -> None:
    event = seen(session.get(f"{gateway.url}/api/v2/tickets/",
                          params=[("status", "open"), ("tag", "a"), ("tag", "b c"), ("e", "")],
                          headers={"X-Custom": "one"}))
    assert event["resource"] == "/api/v2/{proxy+}"
    assert event["path"] == "/api/v2/tickets/"
    assert event["httpMethod"] == "GET"
    assert event["pathParameters"] == {"proxy": "tickets/"}
    assert event["queryStringParameters"] == {"status": "open", "tag": "b c", "e": ""}
    assert event["multiValueQueryStringParameters"] == {
        "status": ["open"], "tag": ["a", "b c"], "e": [""]}
    assert event["headers"]["X-Custom"] == "one"
    assert event["multiValueHeaders"]["X-Custom"] == ["one"]
    assert event["headers"]["X-Forwarded-Proto"] == "http"
    assert event["stageVariables"] is None
    assert event["body"] is None
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["resourcePath"] == "/api/v2/{proxy+}"
    assert context["httpMethod"] == "GET"
    assert context["path"] == "/local/api/v2/tickets/"
    assert context["stage"] == "local"
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["protocol"] == "HTTP/1.1"
    assert len(context["requestId"]) == 36
    assert isinstance(context["requestTimeEpoch"], int)


@pytest.mark.parametrize("path", ["/api/v2", "/api/v2/"])
def test_the_prefix_itself_is_its_own_resource_without_params(
        gateway: LocalGateway, session: requests.Session, path: str) -> None:
    event = seen(session.get(gateway.url + path))
    assert event["resource"] == "/api/v2"
    assert event["path"] == path
    assert event["pathParameters"] is None
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None


def test_path_stays_encoded_but_proxy_param_is_decoded(
        gateway: LocalGateway, session: requests.Session) -> None:
    event = seen(session.get(f"{gateway.url}/webhooks/telegram/a%20b"))
    assert event["resource"] == "/webhooks/{proxy+}"
    assert event["path"] == "/webhooks/telegram/a%20b"
    assert event["pathParameters"] == {"proxy": "telegram/a b"}


def test_repeated_headers_last_wins_in_headers_all_in_multi(gateway: LocalGateway) -> None:
    connection = http.client.HTTPConnection(gateway.url.removeprefix("http://"),
                                            timeout=NETWORK_TIMEOUT)
    try:
        connection.putrequest("GET", "/api/v2/x")
        connection.putheader("X-Many", "first")
        connection.putheader("X-Many", "second")
        connection.endheaders()
        event = json.loads(connection.getresponse().read())["event"]
    finally:
        connection.close()
    assert event["headers"]["X-Many"] == "second"
    assert event["multiValueHeaders"]["X-Many"] == ["first", "second"]


def test_text_body_is_passed_as_is(gateway: LocalGateway, session: requests.Session) -> None:
    event = seen(session.post(f"{gateway.url}/api/v2/tickets", json={"title": "Привет"}))
    assert event["isBase64Encoded"] is False
    assert json.loads(event["body"]) == {"title": "Привет"}


@pytest.mark.parametrize(("content_type", "body"), [
    ("application/json", b"\xff\xfe\x00bad utf-8"),
    ("application/octet-stream", b"plain ascii"),
    ("multipart/form-data; boundary=x", b"--x\r\n\r\nhi\r\n--x--\r\n"),
])
def test_binary_body_is_base64(gateway: LocalGateway, session: requests.Session,
                               content_type: str, body: bytes) -> None:
    event = seen(session.post(f"{gateway.url}/webhooks/vk/1", data=body,
                           headers={"Content-Type": content_type}))
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == body


def test_handler_gets_a_lambda_context(gateway: LocalGateway, session: requests.Session) -> None:
    response = session.get(f"{gateway.url}/api/v2/tickets")
    context = response.json()["context"]
    assert context["function_name"] == "api"
    assert context["aws_request_id"] == response.json()["event"]["requestContext"]["requestId"]
    assert context["aws_request_id"] == response.headers["x-amzn-RequestId"]
    assert context["invoked_function_arn"].endswith(":function:api")
    assert context["memory_limit_in_mb"] > 0
    assert 0 < context["remaining_ms"] <= NETWORK_TIMEOUT * 1000


def test_build_event_without_http() -> None:
    route = Route("/api/v2", echo, "/api/v2/{proxy+}")
    event = build_event(route, "DELETE", "/api/v2/tickets/7?force=1", [("Host", "h")], b"")
    assert event["pathParameters"] == {"proxy": "tickets/7"}
    assert event["queryStringParameters"] == {"force": "1"}
    assert event["requestContext"]["domainName"] == "h"
    with pytest.raises(ValueError):
        build_event(route, "GET", "/api/v2x", [], b"")
    assert LambdaContext("f", timeout_seconds=0).get_remaining_time_in_millis() == 0


# --- the response -------------------------------------------------------------------------

def test_response_status_headers_and_multi_value_headers(
        gateway: LocalGateway, session: requests.Session) -> None:
    response = session.post(f"{gateway.url}/respond/x", json={
        "statusCode": 201,
        "headers": {"X-One": "1", "X-Both": "from-headers", "Content-Length": "999"},
        "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"], "X-Both": ["m1", "m2"]},
        "body": "créé",
    })
    assert response.status_code == 201
    assert response.headers["X-One"] == "1"
    assert response.raw.headers.getlist("Set-Cookie") == ["a=1", "b=2"]
    assert response.raw.headers.getlist("X-Both") == ["m1", "m2"]  # multi wins, as on AWS
    assert response.headers["Content-Length"] == str(len("créé".encode()))
    assert response.headers["Content-Type"] == "application/json"  # API Gateway's default
    assert response.content == "créé".encode()


def test_base64_response_body_is_decoded(gateway: LocalGateway, session: requests.Session) -> None:
    payload = bytes(range(256))
    response = session.post(f"{gateway.url}/respond/file", json={
        "statusCode": 200, "headers": {"Content-Type": "application/pdf"},
        "body": base64.b64encode(payload).decode(), "isBase64Encoded": True})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.content == payload


def test_empty_body_and_head_carry_content_length(gateway: LocalGateway,
                                                  session: requests.Session) -> None:
    response = session.post(f"{gateway.url}/respond/x", json={"statusCode": 204})
    assert response.status_code == 204
    assert response.content == b""
    head = session.head(f"{gateway.url}/api/v2/tickets")
    assert head.status_code == 200
    assert int(head.headers["Content-Length"]) > 0
    assert head.content == b""


# --- errors -------------------------------------------------------------------------------

def assert_envelope(response: requests.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    errors = response.json()["errors"]
    assert errors[0]["code"] == code
    assert errors[0]["title"]
    return errors[0]


@pytest.mark.parametrize("path", ["/", "/nope", "/api/v2x", "/api", "/API/v2/tickets"])
def test_unknown_path_is_404_envelope(gateway: LocalGateway, session: requests.Session,
                                      path: str) -> None:
    error = assert_envelope(session.get(gateway.url + path), 404, "not_found")
    assert error["details"] == f"no route for {path}"


def test_handler_exception_is_502_with_traceback_logged(
        gateway: LocalGateway, session: requests.Session, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="devstack.gateway"):
        error = assert_envelope(session.get(f"{gateway.url}/boom/now"), 502, "bad_gateway")
    assert "handler exploded" in error["details"]
    assert "Traceback" in caplog.text and "handler exploded" in caplog.text
    assert seen(session.get(f"{gateway.url}/api/v2/after"))  # the connection still serves


@pytest.mark.parametrize("garbage", [
    None,
    [1, 2],
    {"body": "no status"},
    {"statusCode": 99},
    {"statusCode": 200, "body": {"not": "a string"}},
    {"statusCode": 200, "headers": {"X": ["list"]}},
    {"statusCode": 200, "multiValueHeaders": {"X": "not a list"}},
    {"statusCode": 200, "body": "%%%", "isBase64Encoded": True},
])
def test_malformed_proxy_response_is_502(gateway: LocalGateway, session: requests.Session,
                                         garbage: Any) -> None:
    assert_envelope(session.post(f"{gateway.url}/respond/x", json=garbage), 502, "bad_gateway")


def test_body_over_the_limit_is_413_and_the_connection_lives_on(
        gateway: LocalGateway, session: requests.Session) -> None:
    assert seen(session.post(f"{gateway.url}/api/v2/t", data=b"x" * SMALL_LIMIT))
    assert_envelope(session.post(f"{gateway.url}/api/v2/t", data=b"x" * (SMALL_LIMIT + 1)),
                    413, "payload_too_large")
    assert seen(session.get(f"{gateway.url}/api/v2/after"))


def test_chunked_body_is_read_and_limited(gateway: LocalGateway) -> None:
    def chunks(count: int) -> Iterator[bytes]:
        yield from (b"y" * 100 for _ in range(count))

    url = f"{gateway.url}/api/v2/t"
    event = seen(requests.post(url, data=chunks(3), timeout=NETWORK_TIMEOUT))
    assert event["body"] == "y" * 300
    assert_envelope(requests.post(url, data=chunks(20), timeout=NETWORK_TIMEOUT),
                    413, "payload_too_large")


def test_stuck_handler_is_504_not_a_hang() -> None:
    released, entered = threading.Event(), threading.Event()

    def stuck(event: dict[str, Any], context: Any) -> dict[str, Any]:
        entered.set()
        released.wait()  # until the test is over: the integration timeout expires for certain
        return {"statusCode": 200, "body": "late"}

    route = Route("/stuck", stuck, "/stuck/{proxy+}")
    try:
        with LocalGateway([route], quiet=True, integration_timeout=TIMEOUT_UNDER_TEST) as gateway:
            answer = requests.get(f"{gateway.url}/stuck/x", timeout=NETWORK_TIMEOUT)
            assert entered.is_set()
            assert_envelope(answer, 504, "gateway_timeout")
    finally:
        released.set()


def test_max_concurrency_runs_one_request_at_a_time() -> None:
    inside, most = [0], [0]
    lock = threading.Lock()

    def slow(event: dict[str, Any], context: Any) -> dict[str, Any]:
        with lock:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        threading.Event().wait(0.05)
        with lock:
            inside[0] -= 1
        return {"statusCode": 200, "body": "ok"}

    route = Route("/api/v2", slow, "/api/v2/{proxy+}", max_concurrency=1)
    with LocalGateway([route], quiet=True) as gateway:
        statuses = at_once(4, lambda _: requests.get(
            f"{gateway.url}/api/v2/x", timeout=NETWORK_TIMEOUT).status_code)
    assert statuses == [200] * 4
    assert most[0] == 1


# --- lifecycle and log --------------------------------------------------------------------

def test_access_log_one_line_per_request_unless_quiet(capsys: pytest.CaptureFixture[str]) -> None:
    with LocalGateway([Route("/api/v2", echo, "/api/v2/{proxy+}")]) as loud:
        requests.get(f"{loud.url}/api/v2/tickets?x=1", timeout=NETWORK_TIMEOUT)
        requests.get(f"{loud.url}/missing", timeout=NETWORK_TIMEOUT)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2
    assert '"GET /api/v2/tickets?x=1 HTTP/1.1" 200' in lines[0]
    assert '"GET /missing HTTP/1.1" 404' in lines[1]


def test_stop_closes_the_port_and_idle_connections() -> None:
    gateway = LocalGateway([Route("/api/v2", echo, "/api/v2/{proxy+}")], quiet=True).start()
    url = gateway.url
    with requests.Session() as session:
        # leaves a keep-alive socket
        assert seen(session.get(f"{url}/api/v2/x", timeout=NETWORK_TIMEOUT))
        gateway.stop()
        gateway.stop()  # idempotent
        with pytest.raises(requests.ConnectionError):
            session.get(f"{url}/api/v2/x", timeout=NETWORK_TIMEOUT)
