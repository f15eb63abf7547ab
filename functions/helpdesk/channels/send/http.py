"""The one HTTP transport every provider client shares: explicit timeouts, a single attempt
per call (the delivery workflow owns retries), bounded streaming downloads, and the SSRF guard
(`helpdesk.ssrf`) on every request. A channel's `api_base_url` is an admin's input and a media
URL in a customer's message is the sender's, so each URL (and each redirect hop) is resolved
and checked, and the connection goes to the verified address, never to a second DNS answer."""

from __future__ import annotations

import json as jsonlib
import logging
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urlencode, urljoin

import urllib3
from urllib3.exceptions import ConnectTimeoutError
from urllib3.filepost import encode_multipart_formdata

from helpdesk.ssrf import AllowList, Destination, Resolver, check_destination, pinned_pool

MB = 1024 * 1024
DEFAULT_TIMEOUT = urllib3.Timeout(connect=3.0, read=10.0)
DEFAULT_MAX_DOWNLOAD = 25 * MB
_CHUNK = 64 * 1024
_ERROR_BODY_LIMIT = 16 * 1024
# Redirects are followed since provider file links (VK documents, CDN URLs) redirect; each hop
# is checked like the first URL, as urllib3 would not.
MAX_REDIRECTS = 5
_REDIRECTS = frozenset({301, 302, 303, 307, 308})

# (name, value) or (name, (filename, content, content_type))
MultipartField = tuple[str, str | tuple[str, bytes, str]]


class DownloadTooLarge(Exception):
    """The file exceeds the download limit; nothing more is read."""


class TooManyRedirects(urllib3.exceptions.HTTPError):
    """More than MAX_REDIRECTS hops: a loop, or a provider misconfigured for now."""


@dataclass(frozen=True)
class HttpResult:
    status: int
    headers: dict[str, str]  # names lower-cased
    body: bytes


class PinnedPools:
    """Connection pools, one per verified address, kept for reuse across calls (a Lambda
    container talks to the same provider again and again). The oldest pool beyond `limit` is
    closed, so rotating DNS answers or many media hosts cannot grow it without bound."""

    def __init__(self, *, maxsize: int = 4, limit: int = 16, ca_certs: str | None = None) -> None:
        self._maxsize = maxsize
        self._limit = limit
        self._ca_certs = ca_certs
        self._pools: OrderedDict[tuple[str, str, int, str], urllib3.HTTPConnectionPool] = (
            OrderedDict())
        self._lock = threading.Lock()

    def get(self, destination: Destination, address: str,
            timeout: urllib3.Timeout) -> urllib3.HTTPConnectionPool:
        key = (destination.scheme, destination.host, destination.port, address)
        with self._lock:
            pool = self._pools.pop(key, None)
            if pool is None:
                pool = pinned_pool(destination, address, timeout=timeout,
                                   maxsize=self._maxsize, ca_certs=self._ca_certs)
            self._pools[key] = pool  # the most recently used last
            while len(self._pools) > self._limit:
                self._pools.popitem(last=False)[1].close()
            return pool


@cache
def shared_pools() -> PinnedPools:
    # Created once per process (a Lambda container) so connections are reused across calls.
    return PinnedPools()


class Http:
    """Transport options: timeouts and the download limit (tests shorten them), and the
    allow-list of non-public hosts (local testing: fake providers on 127.0.0.1; None admits
    public addresses only)."""

    def __init__(self, *, timeout: urllib3.Timeout = DEFAULT_TIMEOUT,
                 max_download: int = DEFAULT_MAX_DOWNLOAD, allow: AllowList | None = None,
                 resolver: Resolver | None = None, pools: PinnedPools | None = None) -> None:
        self.timeout = timeout
        self.max_download = max_download
        self.allow = allow
        self.resolver = resolver
        self._pools = pools or shared_pools()

    def request(self, method: str, url: str, *, headers: dict[str, str] | None = None,
                json: Any = None, form: dict[str, str] | None = None,
                multipart: list[MultipartField] | None = None) -> HttpResult:
        """Raises urllib3 errors as they come (callers map them to delivery failures),
        BlockedDestination for a URL that is not public, TemporaryFailure when its name does
        not resolve now."""
        headers = dict(headers or {})
        body: bytes | None = None
        if json is not None:
            body = jsonlib.dumps(json, separators=(",", ":"), ensure_ascii=False).encode()
            headers["Content-Type"] = "application/json"
        elif form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif multipart is not None:
            body, headers["Content-Type"] = encode_multipart_formdata(multipart)
        response = self._open(method, url, headers, body, preload_content=True)
        return HttpResult(response.status, _lower(response.headers), response.data)

    def download(self, url: str, *, headers: dict[str, str] | None = None) -> HttpResult:
        """GET with the body read in chunks and abandoned past `max_download`. Error statuses
        come back with at most 16 KiB of their body (enough for a provider's error JSON)."""
        response = self._open("GET", url, dict(headers or {}), None, preload_content=False)
        complete = False
        try:
            meta = _lower(response.headers)
            if response.status >= 400:
                return HttpResult(response.status, meta, response.read(_ERROR_BODY_LIMIT))
            declared = meta.get("content-length", "")
            if declared.isdigit() and int(declared) > self.max_download:
                raise DownloadTooLarge(int(declared))
            chunks: list[bytes] = []
            size = 0
            for chunk in response.stream(_CHUNK):
                size += len(chunk)
                if size > self.max_download:
                    raise DownloadTooLarge(size)
                chunks.append(chunk)
            complete = True
            return HttpResult(response.status, meta, b"".join(chunks))
        finally:
            if not complete:
                response.close()  # unread bytes would poison a reused connection
            response.release_conn()

    def _open(self, method: str, url: str, headers: dict[str, str], body: bytes | None, *,
              preload_content: bool) -> urllib3.BaseHTTPResponse:
        """Follows redirects as urllib3 would (303 turns into a body-less GET; credentials are
        dropped when a hop leaves the host), but checks every hop's destination first."""
        destination = check_destination(url, allow=self.allow, resolver=self.resolver)
        for _ in range(MAX_REDIRECTS + 1):
            response = self._send(destination, method, headers, body, preload_content)
            location = response.headers.get("Location")
            if response.status not in _REDIRECTS or not location:
                return response
            response.close()  # a redirect's body is not worth reading (it could be huge)
            response.release_conn()
            url = urljoin(url, location)
            if response.status == 303:
                method, body = "GET", None
                headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
            previous = destination
            destination = check_destination(url, allow=self.allow, resolver=self.resolver)
            if (destination.scheme, destination.host, destination.port) != (
                    previous.scheme, previous.host, previous.port):
                # Authorization, Viber's token header: meant for the provider, not a CDN.
                headers = {k: v for k, v in headers.items() if k.lower() == "content-type"}
        raise TooManyRedirects(f"more than {MAX_REDIRECTS} redirects")

    def _send(self, destination: Destination, method: str, headers: dict[str, str],
              body: bytes | None, preload_content: bool) -> urllib3.BaseHTTPResponse:
        headers = {**headers, "Host": destination.host_header}
        refused: ConnectTimeoutError | None = None
        for address in destination.addresses:
            pool = self._pools.get(destination, address, self.timeout)
            try:
                return pool.urlopen(method, destination.target, body=body, headers=headers,
                                    retries=False, redirect=False, assert_same_host=False,
                                    preload_content=preload_content, timeout=self.timeout)
            except ConnectTimeoutError as exc:
                # Includes connection refused. Nothing was sent, so the next verified address
                # (an IPv4 after an unreachable IPv6, say) cannot cause a double send.
                refused = exc
        assert refused is not None  # check_destination never returns no address
        raise refused


def _lower(headers: Any) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


class _RedactTokens(logging.Filter):
    """urllib3 logs request lines, retries and redirects with their URLs. Telegram carries the
    bot token in the path and the Send API the access token in the query, so scrub both before
    any handler sees them."""

    _SECRET = re.compile(r"(/bot)[^/\s\"]+|(access_token=)[^&\s\"]+")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(self._scrub(arg) for arg in record.args)
        return True

    def _scrub(self, value: object) -> object:
        if not isinstance(value, str):
            return value
        return self._SECRET.sub(lambda m: f"{m.group(1) or m.group(2)}***", value)


for _name in ("urllib3.connectionpool", "urllib3.poolmanager", "urllib3.util.retry"):
    logging.getLogger(_name).addFilter(_RedactTokens())
