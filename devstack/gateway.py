"""The local stand-in for API Gateway (REST API, Lambda proxy integration).

One HTTP server on 127.0.0.1 turns every request into the v1 proxy event AWS would build,
calls the matching handler in-process and maps its proxy response back to HTTP, so the
handlers run unchanged locally and on AWS. Where this deliberately differs from AWS the
comment says so.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import logging
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from devstack import aws_calls, request_ids
from devstack.lambda_runtime import ACCOUNT_ID, LambdaContext
from devstack.threads import ReusedThread

logger = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
INTEGRATION_TIMEOUT = 29.0  # API Gateway's default integration timeout, seconds
API_ID = "local"

# API Gateway base64-encodes bodies of the API's binaryMediaTypes; we treat these as binary.
_BINARY_TYPES = ("application/octet-stream", "application/pdf", "application/zip",
                 "application/gzip", "application/x-tar", "image/", "audio/", "video/",
                 "font/", "multipart/")
# Framing is ours to decide: the handler's values for these would break keep-alive.
_HOP_BY_HOP = {"content-length", "transfer-encoding", "connection", "keep-alive"}
_PROXY_SUFFIX = "/{proxy+}"
_DRAIN_CAP = 64 * 1024 * 1024  # past this an oversized body is not read, the socket is closed


@dataclass(frozen=True)
class Route:
    """`prefix` and everything below it goes to `handler`; `resource` is the API Gateway
    resource path reported in the event (e.g. `/api/v2/{proxy+}`)."""

    prefix: str
    handler: Handler
    resource: str
    function_name: str = ""
    memory_limit_in_mb: int = 1024
    # Like Lambda's reserved concurrency: 1 runs one request at a time, which shields a
    # handler keeping per-request state in module globals (Chalice's app.current_request).
    max_concurrency: int | None = None

    def match(self, path: str) -> str | None:
        """The part of `path` below the prefix ("" for the prefix itself), or None."""
        base = self.prefix.rstrip("/")
        if path == base or path == base + "/":
            return ""
        if path.startswith(base + "/"):
            return path[len(base) + 1:]
        return None

    @property
    def base_resource(self) -> str:
        """`ANY /api/v2` (no proxy part) is its own API Gateway resource."""
        if self.resource.endswith(_PROXY_SUFFIX):
            return self.resource[: -len(_PROXY_SUFFIX)] or "/"
        return self.resource

    @property
    def name(self) -> str:
        return self.function_name or "local" + self.prefix.rstrip("/").replace("/", "-")


def split_target(target: str) -> tuple[str, str]:
    """Path and query of a request target; `//x` is a path here, not a host."""
    if target.startswith(("http://", "https://")):  # absolute-form, e.g. via a proxy
        split = urlsplit(target)
        return split.path or "/", split.query
    path, _, query = target.split("#", 1)[0].partition("?")
    return path or "/", query


def is_binary(content_type: str | None, body: bytes) -> bool:
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    if any(kind.startswith(prefix) for prefix in _BINARY_TYPES):
        return True
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def build_event(route: Route, method: str, target: str, headers: Iterable[tuple[str, str]],
                body: bytes, *, stage: str = "local", source_ip: str = "127.0.0.1",
                protocol: str = "HTTP/1.1", request_id: str | None = None) -> dict[str, Any]:
    """The REST (v1) Lambda proxy event for one request, as API Gateway builds it.

    `target` is the request target as sent (path and query). `path` stays percent-encoded
    and keeps a trailing slash, as on AWS; path and query parameters are decoded.
    """
    path, query = split_target(target)
    rest = route.match(path)
    if rest is None:
        raise ValueError(f"{path} is not under {route.prefix}")
    single_headers: dict[str, str] = {}
    multi_headers: dict[str, list[str]] = {}
    for name, value in headers:
        single_headers[name] = value  # like AWS: the last of repeated values wins
        multi_headers.setdefault(name, []).append(value)
    single_query: dict[str, str] = {}
    multi_query: dict[str, list[str]] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        single_query[name] = value
        multi_query.setdefault(name, []).append(value)
    binary = bool(body) and is_binary(_header(single_headers, "content-type"), body)
    if not body:
        text: str | None = None  # AWS sends null, not "", for a request without a body
    elif binary:
        text = base64.b64encode(body).decode("ascii")
    else:
        text = body.decode("utf-8")
    resource = route.resource if rest else route.base_resource
    now = datetime.now(UTC)
    request_id = request_id or request_ids.request_id()
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": single_headers or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": single_query or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": {"proxy": unquote(rest)} if rest else None,
        "stageVariables": None,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": API_ID,
            "domainName": _header(single_headers, "host") or "127.0.0.1",
            "domainPrefix": API_ID,
            "extendedRequestId": request_id,
            "httpMethod": method,
            "identity": {
                "accessKey": None, "accountId": None, "caller": None, "cognitoIdentityId": None,
                "cognitoIdentityPoolId": None, "principalOrgId": None, "sourceIp": source_ip,
                "user": None, "userAgent": _header(single_headers, "user-agent"),
                "userArn": None,
            },
            "path": f"/{stage}{path}",
            "protocol": protocol,
            "requestId": request_id,
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "resourceId": API_ID,
            "resourcePath": resource,
            "stage": stage,
        },
        "body": text,
        "isBase64Encoded": binary,
    }


class IntegrationTimeout(Exception):
    """The handler did not answer within the integration timeout (AWS: 504)."""


class BadProxyResponse(ValueError):
    """The handler's answer is not a valid Lambda proxy response (AWS: 502)."""


def parse_proxy_response(response: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, header lines and body bytes from a Lambda proxy response, checked like AWS."""
    if not isinstance(response, dict):
        raise BadProxyResponse(f"expected a dict, got {type(response).__name__}")
    status = response.get("statusCode")
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise BadProxyResponse(f"statusCode must be an HTTP status, got {status!r}")
    single = response.get("headers") or {}
    multi = response.get("multiValueHeaders") or {}
    if not isinstance(single, dict) or not isinstance(multi, dict):
        raise BadProxyResponse("headers and multiValueHeaders must be objects")
    # AWS merges both; for a name present in both, multiValueHeaders wins.
    multi_names = {str(name).lower() for name in multi}
    lines: list[tuple[str, str]] = []
    for name, value in single.items():
        if str(name).lower() not in multi_names:
            lines.append((str(name), _header_value(value)))
    for name, values in multi.items():
        if not isinstance(values, list):
            raise BadProxyResponse(f"multiValueHeaders[{name!r}] must be a list")
        lines.extend((str(name), _header_value(value)) for value in values)
    body = response.get("body")
    if body is None:
        data = b""
    elif not isinstance(body, str):
        raise BadProxyResponse(f"body must be a string, got {type(body).__name__}")
    elif response.get("isBase64Encoded"):
        try:
            data = base64.b64decode(body, validate=True)
        except binascii.Error as error:
            raise BadProxyResponse(f"isBase64Encoded but body is not base64: {error}") from None
    else:
        data = body.encode("utf-8")
    return status, lines, data


def error_body(code: str, title: str, details: str) -> bytes:
    """The API contract's errors envelope."""
    return json.dumps({"errors": [{"code": code, "title": title, "details": details}]},
                      ensure_ascii=False).encode("utf-8")


class LocalGateway:
    """Serves `routes` over HTTP/1.1 on a daemon thread, like API Gateway in front of them."""

    def __init__(self, routes: Sequence[Route], host: str = "127.0.0.1", port: int = 0, *,
                 quiet: bool = False, stage: str = "local",
                 max_body_bytes: int = MAX_BODY_BYTES,
                 integration_timeout: float = INTEGRATION_TIMEOUT) -> None:
        # Longest prefix first, so a nested prefix wins over its parent.
        self.routes = sorted(routes, key=lambda route: len(route.prefix.rstrip("/")),
                             reverse=True)
        self._slots = {id(route): threading.BoundedSemaphore(route.max_concurrency)
                       for route in self.routes if route.max_concurrency}
        self.host = host
        self.port = port
        self.quiet = quiet
        self.stage = stage
        self.max_body_bytes = max_body_bytes
        self.integration_timeout = integration_timeout
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> LocalGateway:
        if self._server is not None:
            raise RuntimeError("gateway already started")
        server = _Server((self.host, self.port), _RequestHandler)
        server.gateway = self
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="local-gateway", daemon=True)
        self._thread.start()
        return self

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("gateway not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        server.close_connections()  # idle keep-alive sockets would otherwise outlive stop()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> LocalGateway:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def route_for(self, path: str) -> Route | None:
        return next((route for route in self.routes if route.match(path) is not None), None)

    def invoke(self, route: Route, event: dict[str, Any]) -> Any:
        """The handler's answer, raw. It runs on its own thread so a stuck one raises
        IntegrationTimeout (a 504, as on API Gateway) instead of hanging the connection."""
        context = LambdaContext(route.name, route.memory_limit_in_mb, self.integration_timeout,
                                event["requestContext"]["requestId"])
        outcome: dict[str, Any] = {}
        slot = self._slots.get(id(route), contextlib.nullcontext())

        def run() -> None:
            try:
                with slot:  # waiting here counts against the timeout, as a throttle would
                    outcome["response"] = aws_calls.spent_in(
                        "functions", lambda: route.handler(event, context))
            except BaseException as error:
                outcome["error"] = error

        worker = ReusedThread(target=run, name=f"lambda-{route.name}")
        worker.start()
        worker.join(self.integration_timeout)
        if worker.is_alive():
            raise IntegrationTimeout(
                f"{route.name} did not answer in {self.integration_timeout:g} s")
        error = outcome.get("error")
        if isinstance(error, Exception):
            raise error
        if error is not None:  # SystemExit and the like must not escape into the server
            raise RuntimeError(f"handler raised {type(error).__name__}") from error
        return outcome["response"]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog is 5: a burst of simultaneous clients (40 visitors
    # signing up at once) had connections reset before a thread could take them.
    request_queue_size = 128
    gateway: LocalGateway

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class _TooLarge(Exception):
    pass


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: every answer carries Content-Length
    server: _Server

    def version_string(self) -> str:
        return "LocalGateway"

    def handle_one_request(self) -> None:
        # Reading, routing and answering a request is API Gateway's work: the embedded AWS's
        # CPU (the handler's own runs on its thread, as "functions"); waiting costs nothing.
        aws_calls.spent_in("aws", super().handle_one_request)

    def do_any(self) -> None:
        started = time.monotonic()
        gateway = self.server.gateway
        status, size = 500, 0
        try:
            status, size = self._serve(gateway)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception:
            # Our own bug must still answer, never leave the client waiting.
            logger.exception("local gateway failed on %s %s", self.command, self.path)
            self.close_connection = True
            status = 502
            size = self._reply(502, [], error_body(
                "bad_gateway", "Bad gateway", "the local gateway failed; see its log"))
        finally:
            if not gateway.quiet:
                elapsed = (time.monotonic() - started) * 1000
                sys.stderr.write(f'{self.client_address[0]} "{self.command} {self.path} '
                                 f'{self.request_version}" {status} {size} {elapsed:.1f}ms\n')

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_any

    def _serve(self, gateway: LocalGateway) -> tuple[int, int]:
        path, _ = split_target(self.path)
        route = gateway.route_for(path)
        if route is not None and not route.prefix.startswith("/_local"):
            aws_calls.count("apigateway request")
        try:
            body = self._read_body(gateway.max_body_bytes)
        except _TooLarge:
            return 413, self._reply(413, [], error_body(
                "payload_too_large", "Payload too large",
                f"the request body exceeds {gateway.max_body_bytes} bytes"))
        except ValueError as error:
            self.close_connection = True  # the framing is unknown: the stream is unusable
            return 400, self._reply(400, [], error_body("bad_request", "Bad request",
                                                        str(error)))
        if route is None:
            # API Gateway answers 403 "Missing Authentication Token" here; our API contract
            # wants the errors envelope and a 404.
            return 404, self._reply(404, [], error_body("not_found", "Not found",
                                                        f"no route for {path}"))
        port = self.server.server_address[1]
        # API Gateway adds these; a handler building absolute links may read them.
        forwarded = [(name, value) for name, value in (
            ("X-Forwarded-For", self.client_address[0]), ("X-Forwarded-Port", str(port)),
            ("X-Forwarded-Proto", "http")) if name not in self.headers]
        headers = [*self.headers.items(), *forwarded]
        event = build_event(route, self.command, self.path, headers, body,
                            stage=gateway.stage, source_ip=self.client_address[0],
                            protocol=self.request_version)
        request_id = event["requestContext"]["requestId"]
        extra = [("x-amzn-RequestId", request_id)]
        try:
            status, lines, data = parse_proxy_response(gateway.invoke(route, event))
        except IntegrationTimeout as error:
            # API Gateway: 504 "Endpoint request timed out".
            return 504, self._reply(504, extra, error_body("gateway_timeout", "Gateway timeout",
                                                           str(error)))
        except Exception as error:
            # API Gateway: 502 "Internal server error" for a failed integration.
            logger.error("%s %s: %s failed (request %s)", self.command, self.path,
                         route.name, request_id, exc_info=error)
            return 502, self._reply(502, extra, error_body(
                "bad_gateway", "Bad gateway",
                f"{route.name} failed: {type(error).__name__}: {error}"))
        return status, self._reply(status, [*lines, *extra], data)

    def _read_body(self, limit: int) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked(limit)
        declared = self.headers.get("Content-Length")
        if declared is None:
            return b""
        if not declared.strip().isdigit():
            raise ValueError(f"invalid Content-Length: {declared!r}")
        length = int(declared)
        if length > limit:
            self._discard(length)
            raise _TooLarge
        return self.rfile.read(length)

    def _read_chunked(self, limit: int) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise ValueError("malformed chunked body") from None
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(parts)
            total += size
            if total > limit:
                self.close_connection = True  # rest of the stream is not worth reading
                raise _TooLarge
            parts.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def _discard(self, length: int) -> None:
        """Read an oversized body in small pieces so the client sees our 413 rather than a
        reset; past a cap just close the connection."""
        if length > _DRAIN_CAP:
            self.close_connection = True
            return
        while length > 0:
            chunk = self.rfile.read(min(length, 65536))
            if not chunk:
                break
            length -= len(chunk)

    def handle_expect_100(self) -> bool:
        # Refuse an oversized body before the client sends it.
        declared = self.headers.get("Content-Length") or ""
        if declared.isdigit() and int(declared) > self.server.gateway.max_body_bytes:
            self.close_connection = True
            self._reply(413, [], error_body(
                "payload_too_large", "Payload too large",
                f"the request body exceeds {self.server.gateway.max_body_bytes} bytes"))
            return False
        return super().handle_expect_100()

    def _reply(self, status: int, lines: list[tuple[str, str]], body: bytes) -> int:
        self.send_response(status)
        names = set()
        for name, value in lines:
            if name.lower() in _HOP_BY_HOP:
                continue
            names.add(name.lower())
            self.send_header(name, value)
        if "content-type" not in names:
            self.send_header("Content-Type", "application/json")  # API Gateway's default
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)
        self.wfile.flush()
        return len(body)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # do_any writes one line per request itself

    def log_message(self, format: str, *args: Any) -> None:
        if not self.server.gateway.quiet:
            sys.stderr.write(f"{self.client_address[0]} {format % args}\n")


def _header(headers: dict[str, str], name: str) -> str | None:
    return next((value for key, value in headers.items() if key.lower() == name), None)


def _header_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise BadProxyResponse(f"header values must be strings, got {type(value).__name__}")
