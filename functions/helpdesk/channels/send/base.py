"""What every provider client offers, and the error mapping they share.

Failures follow `helpdesk.delivery`: network errors, timeouts, HTTP 429 and 5xx (and provider
errors a client marks temporary) raise TemporaryFailure, which the workflow retries; other 4xx
and provider errors raise PermanentFailure. Messages name the provider, the HTTP status and the
provider's own error text, with every channel secret scrubbed out. A URL the SSRF guard refuses
(`helpdesk.ssrf`: an API base or media URL that is not public) is a PermanentFailure, nothing
sent."""

from __future__ import annotations

import email.message
import json
import mimetypes
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, ClassVar, NoReturn, Protocol, TypeVar
from urllib.parse import quote, unquote, urlsplit

import urllib3
from urllib3.exceptions import LocationValueError, MaxRetryError, NewConnectionError

from helpdesk.channels.events import ChannelSecrets
from helpdesk.channels.send.http import DownloadTooLarge, Http, HttpResult, MultipartField
from helpdesk.delivery import PermanentFailure, TemporaryFailure
from helpdesk.ssrf import BlockedDestination

T = TypeVar("T")
OCTET_STREAM = "application/octet-stream"


@dataclass(frozen=True)
class DownloadedFile:
    content: bytes
    content_type: str  # bare MIME type, lower-case
    name: str


class ProviderClient(Protocol):
    """Outbound side of a messenger channel. Every method raises TemporaryFailure or
    PermanentFailure; nothing else escapes for provider or network trouble."""

    def send_text(self, conversation: str, text: str, *, idempotency_key: str = "") -> str:
        """Send `text`; returns the provider's message id. `idempotency_key` is passed on
        where the provider deduplicates (VK), so a retried step does not send twice."""
        ...

    def send_file(self, conversation: str, name: str, content: bytes, content_type: str,
                  caption: str = "", *, idempotency_key: str = "", public_url: str = "") -> str:
        """Send a file; returns the provider's message id. `public_url` is where the provider
        can fetch the file itself; only Viber needs (and uses) it."""
        ...

    def download(self, file_ref: str) -> DownloadedFile:
        """Fetch an inbound attachment (`Media.file_ref`), refusing files over the limit."""
        ...


@dataclass(frozen=True)
class ProviderError:
    """An error the provider reported in its response body."""

    text: str
    temporary: bool = False


class BaseClient:
    provider: ClassVar[str]
    default_base_url: ClassVar[str]

    def __init__(self, secrets: ChannelSecrets, base_url: str | None = None,
                 http: Http | None = None) -> None:
        if not secrets.token:
            raise PermanentFailure(f"{self.provider}: the channel has no access token")
        self._secrets = secrets
        self._base = (base_url or self.default_base_url).rstrip("/")
        self._http = http or Http()

    def _provider_error(self, payload: Any) -> ProviderError | None:
        """The provider's error in a parsed response body, if any; overridden per provider."""
        return None

    def _call(self, method: str, url: str, *, headers: dict[str, str] | None = None,
              json: Any = None, form: dict[str, str] | None = None,
              multipart: list[MultipartField] | None = None) -> Any:
        """One API request; returns the parsed JSON body of a successful answer."""
        result = self._guard(url, lambda: self._http.request(
            method, url, headers=headers, json=json, form=form, multipart=multipart))
        payload = _parse_json(result.body)
        error = self._provider_error(payload)
        if result.status >= 400 or error is not None:
            self._fail(result, error)
        if payload is None:
            raise TemporaryFailure(f"{self.provider}: HTTP {result.status}: unreadable response")
        return payload

    def _fetch(self, url: str, *, headers: dict[str, str] | None = None,
               name: str = "") -> DownloadedFile:
        """Bounded GET of a file; `name` is used when the server does not suggest one."""
        try:
            result = self._guard(url, lambda: self._http.download(url, headers=headers))
        except DownloadTooLarge:
            raise PermanentFailure(f"{self.provider}: file too large (over "
                                   f"{self._http.max_download} bytes)") from None
        if result.status >= 400:
            self._fail(result, self._provider_error(_parse_json(result.body)))
        name = (_disposition_name(result.headers.get("content-disposition", ""))
                or name or _url_name(url) or "file")
        content_type = result.headers.get("content-type", "").split(";")[0].strip().lower()
        if not content_type or content_type == OCTET_STREAM:
            content_type = mimetypes.guess_type(name)[0] or OCTET_STREAM
        return DownloadedFile(result.body, content_type, name)

    def _guard(self, url: str, call: Callable[[], T]) -> T:
        try:
            return call()
        except BlockedDestination as refused:
            # The SSRF guard: nothing was sent. A malformed URL has no address class.
            what = "refused to connect" if refused.address_class else "invalid URL"
            raise PermanentFailure(self._redact(f"{self.provider}: {what}: {refused}")) from None
        except TemporaryFailure as unresolved:  # the name does not resolve now
            raise TemporaryFailure(self._redact(f"{self.provider}: {unresolved}")) from None
        except LocationValueError:
            raise PermanentFailure(f"{self.provider}: invalid URL") from None
        except urllib3.exceptions.HTTPError as exc:
            # `from None`: urllib3's own message holds the full URL, token included.
            raise TemporaryFailure(f"{self.provider}: network error talking to "
                                   f"{_host(url)}: {_kind(exc)}") from None

    def _fail(self, result: HttpResult, error: ProviderError | None) -> NoReturn:
        text = error.text if error else _snippet(result.body)
        temporary = (result.status == 429 or result.status >= 500
                     or (error is not None and error.temporary))
        message = self._redact(f"{self.provider}: HTTP {result.status}: {text}")
        raise (TemporaryFailure if temporary else PermanentFailure)(message)

    def _pick(self, payload: Any, *path: str | int) -> Any:
        """payload[path0][path1]...; a success answer without it is a broken contract."""
        value = payload
        for key in path:
            try:
                value = value[key]
            except (KeyError, IndexError, TypeError):
                where = ".".join(str(part) for part in path)
                raise PermanentFailure(f"{self.provider}: unexpected response, no {where}") \
                    from None
        return value

    def _redact(self, text: str) -> str:
        s = self._secrets
        for secret in (s.token, s.webhook_secret, s.app_secret, s.verify_token, s.confirmation):
            if len(secret) >= 4:
                text = text.replace(secret, "***").replace(quote(secret, safe=""), "***")
        return text


def file_part(name: str, content: bytes, content_type: str) -> tuple[str, bytes, str]:
    """A multipart file value; an unknown type goes as octet-stream, never as an empty header."""
    return name, content, content_type or OCTET_STREAM


def _parse_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def _snippet(body: bytes, limit: int = 300) -> str:
    text = " ".join(body.decode("utf-8", "replace").split())
    return (text[:limit] + "...") if len(text) > limit else (text or "(empty body)")


def _host(url: str) -> str:
    try:
        return urllib3.util.parse_url(url).host or "?"
    except LocationValueError:
        return "?"


def _kind(exc: Exception) -> str:
    reason = exc.reason if isinstance(exc, MaxRetryError) and exc.reason else exc
    if isinstance(reason, NewConnectionError):  # checked first: it subclasses the timeouts
        return f"cannot connect ({type(reason).__name__})"
    if isinstance(reason, urllib3.exceptions.TimeoutError):
        return f"timed out ({type(reason).__name__})"
    return type(reason).__name__


def _disposition_name(value: str) -> str:
    if not value:
        return ""
    header = email.message.Message()
    header["content-disposition"] = value
    return _basename(header.get_filename() or "")


def _url_name(url: str) -> str:
    try:
        return _basename(unquote(urlsplit(url).path))
    except ValueError:
        return ""


def _basename(name: str) -> str:
    # Never let a provider-supplied name carry directories.
    return PurePosixPath(name.replace("\\", "/")).name
