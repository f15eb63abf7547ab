"""Lambda entry of the API. API Gateway sends every /api/v2 request here through one
`{proxy+}` resource, so this finds the Chalice route itself (trailing slash optional)."""

from __future__ import annotations

from typing import Any

from chalice.local import RouteMatcher

from api.app import app
from api.errors import envelope

_routes = RouteMatcher(list(app.routes))


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    path = event.get("path") or "/"
    try:
        match = _routes.match_route(path.rstrip("/") or "/")
    except ValueError:
        return envelope(404, "not_found", "Not found", f"no such resource: {path}").to_dict()
    routed = dict(event)
    routed["pathParameters"] = {name: match.captured[name] for name in _params(match.route)}
    routed["resource"] = match.route
    routed["requestContext"] = {**(event.get("requestContext") or {}),
                                "resourcePath": match.route}
    return app(routed, context)


def _params(route: str) -> list[str]:
    return [part[1:-1] for part in route.split("/") if part.startswith("{")]
