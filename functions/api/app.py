"""The staff and integrator API (HelpDeskEddy API v2 wire format) as a Chalice app."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from chalice import Chalice, Response

from api import errors
from api.deps import current
from api.openapi import max_body
from api.routes.automation import automation
from api.routes.channels import channels
from api.routes.dictionaries import dictionaries
from api.routes.meta import PUBLIC_ROUTES, meta
from api.routes.organizations import organizations
from api.routes.public import public
from api.routes.sla import sla
from api.routes.subscriptions import subscriptions
from api.routes.tickets import tickets
from api.routes.users import users
from api.routing import set_viewer
from helpdesk.errors import DomainError, PayloadTooLarge, RateLimited, Unauthorized

PREFIX = "/api/v2"

# configure_logs=False: Chalice would put its own handler on the Powertools service logger.
app = Chalice(app_name="helpdesk", configure_logs=False)
for blueprint in (tickets, users, organizations, channels, subscriptions, automation, sla,
                  dictionaries, public, meta):
    app.register_blueprint(blueprint, url_prefix=PREFIX)


@app.middleware("http")
def authenticate_and_limit(request: Any, get_response: Any) -> Response:
    """The body's size first (nothing is read past the operation's limit), then Basic
    `email:api_key` and the per-key rate limit; both headers on every answer."""
    route = request.context.get("resourcePath") or ""
    try:
        _check_size(request, route)
    except PayloadTooLarge as error:
        return errors.from_domain(error)
    if route in PUBLIC_ROUTES:
        return errors.rewrap_chalice_error(get_response(request))
    helpdesk = current()
    headers = {"X-Rate-Limit": str(helpdesk.rate_limiter.per_minute)}
    email = ""
    try:
        email, api_key = _credentials(request.headers.get("authorization"))
        viewer = helpdesk.users.authenticate(email, api_key)
        headers["X-Rate-Limit-Remaining"] = str(
            helpdesk.rate_limiter.hit(f"user:{viewer.user.id}").remaining)
        set_viewer(viewer)
        response = errors.rewrap_chalice_error(get_response(request))
    except Unauthorized as error:
        try:
            helpdesk.failed_logins.failed(_source_ip(request), email)
            response = errors.from_domain(error)
            response.headers["WWW-Authenticate"] = 'Basic realm="helpdesk"'
        except RateLimited as throttled:  # wrong keys, too many: 429 with Retry-After
            response = errors.from_domain(throttled)
    except DomainError as error:
        response = errors.from_domain(error)
        headers["X-Rate-Limit-Remaining"] = "0"
    except Exception as error:
        response = errors.unexpected(error)
    response.headers.update(headers)
    return response


def _check_size(request: Any, route: str) -> None:
    limit = max_body(request.method, route)
    size = len(request.raw_body or b"")
    if size > limit:
        raise PayloadTooLarge(f"the body takes {size:,} bytes; {request.method} "
                              f"{route.removeprefix(PREFIX)} takes at most {limit:,} "
                              "(x-max-body-bytes in /api/v2/openapi.json)", field="body")


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
