"""One POST to a subscriber, pinned to the address the SSRF check verified.

urllib3 connects to the verified IP while the request carries the URL's Host header and TLS
uses its name for SNI and certificate checks, so DNS is consulted exactly once. One attempt
per call (the workflow owns retries), redirects are not followed (a 3xx is a failure: the
target of a redirect was never checked). The outcome follows `helpdesk.delivery`: network
trouble, timeouts, 408, 429 and 5xx are TemporaryFailure; any other non-2xx is permanent."""

from __future__ import annotations

from dataclasses import dataclass

import urllib3
from urllib3.exceptions import ConnectTimeoutError, HTTPError, LocationValueError, SSLError

from helpdesk.delivery import PermanentFailure, TemporaryFailure
from helpdesk.ssrf import AllowList, Destination, Resolver, check_destination, pinned_pool

DEFAULT_TIMEOUT = urllib3.Timeout(connect=3.0, read=10.0)
_SNIPPET = 300  # characters of the receiver's answer kept in a failure message
_READ_LIMIT = 4096  # bytes read from the answer at most; the rest is dropped with the socket
_TEMPORARY_STATUSES = {408, 429}


@dataclass(frozen=True)
class WebhookResponse:
    status: int
    body: bytes  # the first few KiB only
    location: str | None = None  # of a redirect, for the failure message


class WebhookSender:
    """Transport options (tests shorten timeouts, allow-list 127.0.0.1, trust a test CA)."""

    def __init__(self, *, timeout: urllib3.Timeout = DEFAULT_TIMEOUT,
                 allow: AllowList | None = None, resolver: Resolver | None = None,
                 ca_certs: str | None = None) -> None:
        self.timeout = timeout
        self.allow = allow  # None: no exceptions to the public-addresses-only rule
        self.resolver = resolver
        self.ca_certs = ca_certs

    def post(self, url: str, headers: dict[str, str], body: bytes) -> WebhookResponse:
        """The receiver's 2xx answer; raises TemporaryFailure or PermanentFailure otherwise."""
        destination = check_destination(url, allow=self.allow, resolver=self.resolver)
        response = self._send(destination, headers, body)
        return _checked(response, destination)

    def _send(self, destination: Destination, headers: dict[str, str],
              body: bytes) -> WebhookResponse:
        headers = {**headers, "Host": destination.host_header}
        if destination.username is not None:
            headers.update(urllib3.make_headers(
                basic_auth=f"{destination.username}:{destination.password or ''}"))
        unreachable: list[str] = []
        for address in destination.addresses:
            pool = self._pool(destination, address)
            try:
                response = pool.urlopen("POST", destination.target, body=body, headers=headers,
                                        retries=False, redirect=False, assert_same_host=False,
                                        preload_content=False, timeout=self.timeout)
                try:
                    return WebhookResponse(response.status, response.read(_READ_LIMIT),
                                           response.headers.get("Location"))
                finally:
                    response.close()
            except SSLError as exc:
                raise TemporaryFailure(f"TLS with {destination.host} failed: {exc}") from None
            except ConnectTimeoutError as exc:
                # Includes connection refused. Nothing was sent, so the next verified address
                # (an IPv4 after an unreachable IPv6, say) cannot cause a double delivery.
                unreachable.append(f"{address}: {_reason(exc)}")
            except LocationValueError as exc:
                raise PermanentFailure(f"bad webhook URL: {exc}") from None
            except HTTPError as exc:
                # Read timeout, reset, protocol error: the request may have arrived, so no
                # other address is tried; the workflow retries with the same delivery id.
                raise TemporaryFailure(f"{destination.host}: {_reason(exc)}") from None
            finally:
                pool.close()
        raise TemporaryFailure(f"cannot connect to {destination.host}: "
                               + "; ".join(unreachable))

    def _pool(self, destination: Destination, address: str) -> urllib3.HTTPConnectionPool:
        # A pool per attempt: it is bound to one pinned address, and a Lambda sends one
        # webhook per invocation, so there is nothing to reuse.
        return pinned_pool(destination, address, timeout=self.timeout, ca_certs=self.ca_certs)


def _checked(response: WebhookResponse, destination: Destination) -> WebhookResponse:
    status = response.status
    if 200 <= status < 300:
        return response
    answer = response.body[:_SNIPPET].decode("utf-8", "replace").strip()
    message = f"{destination.host} answered HTTP {status}" + (f": {answer}" if answer else "")
    if status >= 500 or status in _TEMPORARY_STATUSES:
        raise TemporaryFailure(message)
    if 300 <= status < 400:
        raise PermanentFailure(f"{destination.host} answered HTTP {status}, a redirect to "
                               f"{response.location or '(no Location)'}; redirects are not "
                               "followed, point the subscription at the final URL")
    raise PermanentFailure(message)


def _reason(exc: BaseException) -> str:
    # urllib3 wraps the socket error; its own text repeats the pool's repr.
    cause = exc.__cause__ or exc.__context__
    detail = str(cause) if cause else ""
    return f"{type(exc).__name__}" + (f" ({detail})" if detail else f" ({exc})")
