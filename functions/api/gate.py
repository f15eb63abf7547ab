"""Who may call: the body's size for the operation, then Basic `email:api_key`, the per-key
rate limit and the throttling of wrong keys. Raises domain errors; the middleware in
`api/app.py` turns them into answers."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from api.openapi import PREFIX, max_body
from helpdesk.access import Viewer
from helpdesk.errors import PayloadTooLarge, Unauthorized
from helpdesk.service import Helpdesk


def check_size(request: Any, route: str) -> None:
    limit = max_body(request.method, route)
    size = len(request.raw_body or b"")
    if size > limit:
        raise PayloadTooLarge(f"the body takes {size:,} bytes; {request.method} "
                              f"{route.removeprefix(PREFIX)} takes at most {limit:,} "
                              "(x-max-body-bytes in /api/v2/openapi.json)", field="body")


def admit(helpdesk: Helpdesk, request: Any) -> tuple[Viewer, int]:
    """The caller and the requests left this minute. A wrong key is counted per source IP
    and e-mail first (RateLimited past the limit, else the Unauthorized)."""
    email = ""
    try:
        email, api_key = _credentials(request.headers.get("authorization"))
        viewer = helpdesk.users.authenticate(email, api_key)
    except Unauthorized:
        helpdesk.failed_logins.failed(_source_ip(request), email)
        raise
    return viewer, helpdesk.rate_limiter.hit(f"user:{viewer.user.id}").remaining


def _source_ip(request: Any) -> str:
    return str((request.context.get("identity") or {}).get("sourceIp") or "unknown")


def _credentials(header: str | None) -> tuple[str, str]:
    if not header:
        raise Unauthorized("send 'Authorization: Basic base64(email:api_key)'")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        raise Unauthorized("only Basic authentication (email:api_key) is supported")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthorized("the Basic credentials are not valid base64 of email:api_key") from None
    email, separator, api_key = decoded.partition(":")
    if not separator or not email or not api_key:
        raise Unauthorized("the Basic credentials must be email:api_key")
    return email, api_key
