"""The one HTTP transport every provider client shares: a urllib3 pool, explicit timeouts, a
single attempt per call (the delivery workflow owns retries) and bounded streaming downloads."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urlencode

import urllib3
from urllib3.filepost import encode_multipart_formdata

MB = 1024 * 1024
DEFAULT_TIMEOUT = urllib3.Timeout(connect=3.0, read=10.0)
DEFAULT_MAX_DOWNLOAD = 25 * MB
_CHUNK = 64 * 1024
_ERROR_BODY_LIMIT = 16 * 1024

# One attempt: connect/read/status errors are never retried here. Redirects are followed since
# provider file links (VK documents, CDN URLs) redirect; urllib3 drops Authorization when a
# redirect leaves the host.
_RETRIES = urllib3.Retry(total=None, connect=0, read=0, status=0, other=0, redirect=5)

# (name, value) or (name, (filename, content, content_type))
MultipartField = tuple[str, str | tuple[str, bytes, str]]


class DownloadTooLarge(Exception):
    """The file exceeds the download limit; nothing more is read."""


@dataclass(frozen=True)
class HttpResult:
    status: int
    headers: dict[str, str]  # names lower-cased
    body: bytes


@cache
def shared_pool() -> urllib3.PoolManager:
    # Created once per process (a Lambda container) so connections are reused across calls.
    return urllib3.PoolManager(num_pools=16, maxsize=4, retries=_RETRIES, timeout=DEFAULT_TIMEOUT)


class Http:
    """Thin wrapper so tests can shorten timeouts or the download limit."""

    def __init__(self, *, timeout: urllib3.Timeout = DEFAULT_TIMEOUT,
                 max_download: int = DEFAULT_MAX_DOWNLOAD,
                 pool: urllib3.PoolManager | None = None) -> None:
        self.timeout = timeout
        self.max_download = max_download
        self._pool = pool or shared_pool()

    def request(self, method: str, url: str, *, headers: dict[str, str] | None = None,
                json: Any = None, form: dict[str, str] | None = None,
                multipart: list[MultipartField] | None = None) -> HttpResult:
        """Raises urllib3 errors as they come; callers map them to delivery failures."""
        headers = dict(headers or {})
        body: bytes | None = None
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif multipart is not None:
            body, headers["Content-Type"] = encode_multipart_formdata(multipart)
        response = self._pool.request(method, url, headers=headers, body=body, json=json,
                                      timeout=self.timeout, retries=_RETRIES)
        return HttpResult(response.status, _lower(response.headers), response.data)

    def download(self, url: str, *, headers: dict[str, str] | None = None) -> HttpResult:
        """GET with the body read in chunks and abandoned past `max_download`. Error statuses
        come back with at most 16 KiB of their body (enough for a provider's error JSON)."""
        response = self._pool.request("GET", url, headers=headers, preload_content=False,
                                      timeout=self.timeout, retries=_RETRIES)
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
