"""Fake messenger provider APIs: one real HTTP server on 127.0.0.1 that speaks enough of the
Telegram, VK, WhatsApp Cloud, Viber and Messenger (Facebook/Instagram) APIs for the outbound
clients, routed by path as the real hosts would be.

    with FakeProviders() as fake:  # on 127.0.0.1: the SSRF guard must allow it
        http = Http(allow=AllowList.parse("127.0.0.1"))
        client = client_for("telegram", secrets, base_url=fake.url, http=http)
        client.send_text("42", "hi")
        assert fake.requests[-1].json == {"chat_id": "42", "text": "hi"}

Every request is recorded (method, path, query, headers, raw body and the parsed JSON, form or
multipart fields). Message ids come from one increasing counter. `add_file` serves a file for
download, `fail_next` / `hold_next` script trouble for the next requests."""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

VK_OWNER_ID = -100  # owner of documents uploaded through the fake VK


@dataclass(frozen=True)
class UploadedFile:
    filename: str
    content_type: str
    content: bytes


@dataclass
class RecordedRequest:
    method: str
    path: str  # without the query string
    query: dict[str, str]
    headers: dict[str, str]  # names lower-cased
    body: bytes
    json: Any = None
    form: dict[str, str] = field(default_factory=dict)  # urlencoded or multipart text fields
    files: dict[str, UploadedFile] = field(default_factory=dict)  # multipart file fields
    status: int = 0  # what the fake answered
    response: bytes = b""


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    chunked: bool = False


@dataclass(frozen=True)
class _File:
    content: bytes
    content_type: str
    name: str
    chunked: bool = False


def _json(status: int, payload: Any) -> Reply:
    return Reply(status, json.dumps(payload).encode())


def _graph_error(status: int, code: int, message: str) -> Reply:
    return _json(status, {"error": {"message": message, "type": "OAuthException", "code": code,
                                    "fbtrace_id": "AbCdEf"}})


class FakeProviders:
    """Context manager; `url` is the base URL to hand to `client_for(..., base_url=...)`."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._failures: deque[tuple[str | None, Reply]] = deque()
        self._holds = 0  # how many of the next requests get no answer until released
        self._released = threading.Event()
        self._paths: dict[str, _File] = {}  # served at a path (URL-style file refs)
        self._by_id: dict[str, _File] = {}  # Telegram file_id / WhatsApp media id
        self._telegram_paths: dict[str, _File] = {}  # getFile's file_path -> file
        self._vk_uploads: dict[str, UploadedFile] = {}
        self._vk_sent: dict[tuple[str, str], int] = {}  # (peer_id, random_id) -> message id
        self._server: ThreadingHTTPServer | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> FakeProviders:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        server.fake = self  # type: ignore[attr-defined]
        server.handle_error = lambda request, address: None  # type: ignore[assignment]
        # A short poll interval: shutdown() waits for it, once per test.
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                         name="fake-providers", daemon=True).start()
        self._server = server
        return self

    def stop(self) -> None:
        self.release()  # held requests end with the fake
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeProviders:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "FakeProviders is not started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # -- scripting ---------------------------------------------------------------------------
    def add_file(self, ref: str, content: bytes, content_type: str = "application/octet-stream",
                 *, name: str = "", chunked: bool = False) -> str:
        """Serve a file. A `ref` starting with "/" is a path here and the full URL is returned
        (VK, Viber, Messenger refs); any other `ref` is a provider file id (Telegram file_id,
        WhatsApp media id), returned as is. `chunked` omits Content-Length."""
        served = _File(content, content_type, name, chunked)
        with self._lock:
            if ref.startswith("/"):
                self._paths[ref] = served
                return self.url + ref
            self._by_id[ref] = served
            self._telegram_paths[f"documents/{name or ref}"] = served
            return ref

    def fail_next(self, n: int, status: int, body: Any = None, *,
                  headers: dict[str, str] | None = None, path: str | None = None) -> None:
        """Answer the next `n` requests (to `path` only, if given) with `status` and `body`
        (dict/list -> JSON, str/bytes as plain text)."""
        if isinstance(body, dict | list):
            reply = Reply(status, json.dumps(body).encode(), headers=headers or {})
        else:
            raw = body.encode() if isinstance(body, str) else (body or b"")
            reply = Reply(status, raw, "text/plain; charset=utf-8", headers or {})
        with self._lock:
            self._failures.extend([(path, reply)] * n)

    def hold_next(self, n: int = 1) -> None:
        """Leave the next `n` requests unanswered until `release()` (or the fake stops): a
        client's read timeout then expires for certain, whatever the machine's speed."""
        with self._lock:
            self._holds += n

    def release(self) -> None:
        """Answer the held requests (late: their clients have usually given up)."""
        self._released.set()

    def requests_to(self, path: str) -> list[RecordedRequest]:
        return [request for request in self.requests if request.path == path]

    def next_id(self) -> int:
        with self._lock:
            return next(self._ids)

    # -- serving -----------------------------------------------------------------------------
    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        request = _read_request(handler)
        with self._lock:
            self.requests.append(request)
            held, self._holds = self._holds > 0, max(self._holds - 1, 0)
            failure = self._take_failure(request.path)
        if held:
            self._released.wait()
        reply = failure or self._route(request)
        request.status, request.response = reply.status, reply.body
        _write_reply(handler, reply)

    def _take_failure(self, path: str) -> Reply | None:
        for scripted in self._failures:
            if scripted[0] in (None, path):
                self._failures.remove(scripted)
                return scripted[1]
        return None

    def _route(self, r: RecordedRequest) -> Reply:
        path = r.path
        if m := re.fullmatch(r"/bot[^/]+/(\w+)", path):
            return self._telegram(m.group(1), r)
        if m := re.fullmatch(r"/file/bot[^/]+/(.+)", path):
            served = self._telegram_paths.get(m.group(1))
            # Telegram's file server names nothing and types everything as octet-stream.
            if served is None:
                return _telegram_error(404, "Not Found")
            return _serve(served, "application/octet-stream", named=False)
        if m := re.fullmatch(r"/method/([\w.]+)", path):
            return self._vk(m.group(1), r)
        if path == "/vk-upload/doc":
            return self._vk_upload(r)
        if path == "/pa/send_message":
            return self._viber(r)
        if m := re.fullmatch(r"/v\d+\.\d+/(.+)", path):
            return self._graph(m.group(1), r)
        if m := re.fullmatch(r"/whatsapp-media/(.+)", path):
            if not r.headers.get("authorization", "").startswith("Bearer "):
                return _graph_error(401, 190, "Invalid OAuth access token")
            served = self._by_id.get(m.group(1))
            return _serve(served) if served else _graph_error(404, 100, "Not found")
        if path in self._paths:
            return _serve(self._paths[path])
        return Reply(404, b"not found", "text/plain")

    def _telegram(self, method: str, r: RecordedRequest) -> Reply:
        params = {**r.query, **r.form, **(r.json if isinstance(r.json, dict) else {})}
        now = int(time.time())
        chat = {"id": params.get("chat_id"), "type": "private"}
        if method == "sendMessage":
            if not params.get("text"):
                return _telegram_error(400, "Bad Request: message text is empty")
            return _json(200, {"ok": True, "result": {
                "message_id": self.next_id(), "date": now, "chat": chat, "text": params["text"]}})
        if method == "sendDocument":
            document = r.files.get("document")
            if document is None:
                return _telegram_error(400, "Bad Request: there is no document in the request")
            result: dict[str, Any] = {
                "message_id": self.next_id(), "date": now, "chat": chat,
                "document": {"file_id": f"BQAC{self.next_id()}", "file_unique_id": "AgAD",
                             "file_name": document.filename, "mime_type": document.content_type,
                             "file_size": len(document.content)}}
            if params.get("caption"):
                result["caption"] = params["caption"]
            return _json(200, {"ok": True, "result": result})
        if method == "getFile":
            file_id = str(params.get("file_id", ""))
            served = self._by_id.get(file_id)
            if served is None:
                return _telegram_error(400, "Bad Request: invalid file_id")
            return _json(200, {"ok": True, "result": {
                "file_id": file_id, "file_unique_id": "AgAD", "file_size": len(served.content),
                "file_path": f"documents/{served.name or file_id}"}})
        return _telegram_error(404, "Not Found: method not found")

    def _vk(self, method: str, r: RecordedRequest) -> Reply:
        params = {**r.query, **r.form}
        if not params.get("access_token"):
            return _vk_error(5, "User authorization failed: no access_token passed.")
        if method == "messages.send":
            if "random_id" not in params:
                return _vk_error(100, "One of the parameters specified was missing or invalid: "
                                      "random_id is a required parameter")
            key = (params.get("peer_id", ""), params["random_id"])
            with self._lock:  # VK drops a repeated random_id and answers the first id
                if key not in self._vk_sent:
                    self._vk_sent[key] = next(self._ids)
                message_id = self._vk_sent[key]
            return _json(200, {"response": message_id})
        if method == "docs.getMessagesUploadServer":
            return _json(200, {"response": {
                "upload_url": f"{self.url}/vk-upload/doc?peer_id={params.get('peer_id', '')}"}})
        if method == "docs.save":
            uploaded = self._vk_uploads.get(params.get("file", ""))
            if uploaded is None:
                return _vk_error(100, "One of the parameters specified was missing or invalid: "
                                      "file is undefined")
            doc_id = self.next_id()
            title = params.get("title") or uploaded.filename
            return _json(200, {"response": {"type": "doc", "doc": {
                "id": doc_id, "owner_id": VK_OWNER_ID, "title": title,
                "size": len(uploaded.content), "ext": title.rpartition(".")[2],
                "url": f"{self.url}/vk-doc/{doc_id}"}}})
        return _vk_error(3, "Unknown method passed")

    def _vk_upload(self, r: RecordedRequest) -> Reply:
        uploaded = r.files.get("file")
        if uploaded is None:
            return _json(200, {"error": "no_file", "error_descr": "file is missing"})
        token = f"vkfile-{self.next_id()}"
        with self._lock:
            self._vk_uploads[token] = uploaded
        return _json(200, {"file": token})

    def _viber(self, r: RecordedRequest) -> Reply:
        if not r.headers.get("x-viber-auth-token"):
            return _json(200, {"status": 2, "status_message": "invalidAuthToken"})
        body = r.json if isinstance(r.json, dict) else {}
        if not body.get("receiver") or not body.get("type"):
            return _json(200, {"status": 4, "status_message": "missingData"})
        return _json(200, {"status": 0, "status_message": "ok",
                           "message_token": 5_000_000_000_000_000_000 + self.next_id(),
                           "chat_hostname": "SN-CHAT-01_"})

    def _graph(self, rest: str, r: RecordedRequest) -> Reply:
        if rest == "me/messages":
            return self._messenger(r)
        if not r.headers.get("authorization", "").startswith("Bearer "):
            return _graph_error(401, 190, "Invalid OAuth access token - Cannot parse access token")
        parts = rest.split("/")
        if len(parts) == 2 and parts[1] == "messages" and r.method == "POST":
            body = r.json if isinstance(r.json, dict) else {}
            if body.get("messaging_product") != "whatsapp" or not body.get("to"):
                return _graph_error(400, 100, "(#100) Invalid parameter")
            return _json(200, {"messaging_product": "whatsapp",
                               "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                               "messages": [{"id": f"wamid.HBgL{self.next_id()}"}]})
        if len(parts) == 2 and parts[1] == "media" and r.method == "POST":
            uploaded = r.files.get("file")
            if uploaded is None or r.form.get("messaging_product") != "whatsapp":
                return _graph_error(400, 100, "(#100) The parameter file is required.")
            media_id = str(9_000_000 + self.next_id())
            with self._lock:  # what was uploaded can be fetched back, as on the real API
                self._by_id[media_id] = _File(uploaded.content, uploaded.content_type,
                                              uploaded.filename)
            return _json(200, {"id": media_id})
        if len(parts) == 1 and r.method == "GET":
            served = self._by_id.get(parts[0])
            if served is None:
                return _graph_error(400, 100, "(#100) Unsupported get request.")
            return _json(200, {"messaging_product": "whatsapp",
                               "url": f"{self.url}/whatsapp-media/{parts[0]}",
                               "mime_type": served.content_type,
                               "sha256": hashlib.sha256(served.content).hexdigest(),
                               "file_size": str(len(served.content)), "id": parts[0]})
        return _graph_error(400, 100, "(#100) Unknown path components")

    def _messenger(self, r: RecordedRequest) -> Reply:
        if not r.query.get("access_token"):
            return _graph_error(400, 2500, "An active access token must be used to query "
                                           "information about the current user.")
        if isinstance(r.json, dict):
            recipient = r.json.get("recipient") or {}
        else:
            if "filedata" not in r.files:
                return _graph_error(400, 100, "(#100) Upload attachment failure.")
            recipient = json.loads(r.form.get("recipient", "{}"))
        if not recipient.get("id"):
            return _graph_error(400, 100, "(#100) The parameter recipient is required")
        return _json(200, {"recipient_id": recipient["id"],
                           "message_id": f"m_{self.next_id()}"})


def _telegram_error(status: int, description: str) -> Reply:
    return _json(status, {"ok": False, "error_code": status, "description": description})


def _vk_error(code: int, message: str) -> Reply:
    return _json(200, {"error": {"error_code": code, "error_msg": message,
                                 "request_params": []}})


def _serve(served: _File, content_type: str | None = None, *, named: bool = True) -> Reply:
    headers = {}
    if served.name and named:
        headers["Content-Disposition"] = f'attachment; filename="{served.name}"'
    return Reply(200, served.content, content_type or served.content_type, headers,
                 served.chunked)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real APIs; chunked replies work
    timeout = 10  # a stalled client must not pin a thread forever

    def do_GET(self) -> None:
        self.server.fake._handle(self)  # type: ignore[attr-defined]

    do_POST = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet test output


def _read_request(handler: BaseHTTPRequestHandler) -> RecordedRequest:
    split = urlsplit(handler.path)
    headers = {name.lower(): value for name, value in handler.headers.items()}
    body = handler.rfile.read(int(headers.get("content-length") or 0))
    request = RecordedRequest(handler.command, split.path, dict(parse_qsl(split.query)),
                              headers, body)
    content_type = headers.get("content-type", "")
    if content_type.startswith("application/json"):
        request.json = json.loads(body or b"null")
    elif content_type.startswith("application/x-www-form-urlencoded"):
        request.form = dict(parse_qsl(body.decode(), keep_blank_values=True))
    elif content_type.startswith("multipart/form-data"):
        request.form, request.files = parse_multipart(body, content_type)
    return request


def parse_multipart(body: bytes, content_type: str
                    ) -> tuple[dict[str, str], dict[str, UploadedFile]]:
    """Split multipart/form-data the way the providers' servers read it (names and filenames
    are UTF-8 with `"`, CR and LF percent-encoded, as browsers and urllib3 send them)."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    assert match, f"no boundary in {content_type!r}"
    form: dict[str, str] = {}
    files: dict[str, UploadedFile] = {}
    for part in body.split(b"--" + match.group(1).encode()):
        if not part.startswith(b"\r\n"):
            continue  # the preamble and the closing "--"
        head, _, content = part[2:].partition(b"\r\n\r\n")
        content = content.removesuffix(b"\r\n")
        part_headers = {}
        for line in head.decode().split("\r\n"):
            name, _, value = line.partition(":")
            part_headers[name.strip().lower()] = value.strip()
        disposition = part_headers.get("content-disposition", "")
        field_name = _disposition_param(disposition, "name") or ""
        filename = _disposition_param(disposition, "filename")
        if filename is None:
            form[field_name] = content.decode()
        else:
            files[field_name] = UploadedFile(
                filename, part_headers.get("content-type", "application/octet-stream"), content)
    return form, files


def _disposition_param(disposition: str, key: str) -> str | None:
    match = re.search(rf'(?:^|;)\s*{key}="([^"]*)"', disposition)
    if match is None:
        return None
    return match.group(1).replace("%22", '"').replace("%0D", "\r").replace("%0A", "\n")


def _write_reply(handler: BaseHTTPRequestHandler, reply: Reply) -> None:
    try:
        handler.send_response(reply.status)
        handler.send_header("Content-Type", reply.content_type)
        for name, value in reply.headers.items():
            handler.send_header(name, value)
        if reply.chunked:
            handler.send_header("Transfer-Encoding", "chunked")
            handler.end_headers()
            for start in range(0, len(reply.body), 8192):
                chunk = reply.body[start:start + 8192]
                handler.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            handler.wfile.write(b"0\r\n\r\n")
        else:
            handler.send_header("Content-Length", str(len(reply.body)))
            handler.end_headers()
            handler.wfile.write(reply.body)
    except (BrokenPipeError, ConnectionResetError):
        handler.close_connection = True  # the client gave up (timeout tests)
