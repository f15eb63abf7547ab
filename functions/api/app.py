"""The staff and integrator API (HelpDeskEddy API v2 wire format) as a Chalice app."""

from __future__ import annotations

from typing import Any

from chalice import Chalice, Response

from api import errors
from api.deps import current
from api.gate import admit, check_size
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
    """The body's size first (nothing is read past the operation's limit), then the caller
    (api/gate.py); the rate-limit headers on every answer."""
    route = request.context.get("resourcePath") or ""
    try:
        check_size(request, route)
    except PayloadTooLarge as error:
        return errors.from_domain(error)
    if route in PUBLIC_ROUTES:
        return errors.rewrap_chalice_error(get_response(request))
    helpdesk = current()
    headers = {"X-Rate-Limit": str(helpdesk.rate_limiter.per_minute)}
    try:
        viewer, remaining = admit(helpdesk, request)
        headers["X-Rate-Limit-Remaining"] = str(remaining)
        set_viewer(viewer)
        response = errors.rewrap_chalice_error(get_response(request))
    except Unauthorized as error:
        response = errors.from_domain(error)
        response.headers["WWW-Authenticate"] = 'Basic realm="helpdesk"'
    except RateLimited as error:  # the key's limit, or too many wrong keys
        response = errors.from_domain(error)
        headers["X-Rate-Limit-Remaining"] = "0"
    except DomainError as error:
        response = errors.from_domain(error)
    except Exception as error:
        response = errors.unexpected(error)
    response.headers.update(headers)
    return response
