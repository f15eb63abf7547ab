"""Lambda entry of the API. API Gateway sends every /api/v2 request here through one
`{proxy+}` resource, so this finds the Chalice route itself (trailing slash optional)."""

from __future__ import annotations

from typing import Any

from api.app import app
from api.errors import envelope

# Literal segments before `{captures}`, so /tickets/trash would win over /tickets/{id}.
# (chalice.local has a matcher too, but importing it adds ~80 ms to every cold start.)
_ROUTES = sorted((route.split("/") for route in app.routes),
                 key=lambda parts: [part.startswith("{") for part in parts])


def match(path: str) -> tuple[str, dict[str, str]] | None:
    parts = (path.rstrip("/") or "/").split("/")
    for route in _ROUTES:
        if len(route) != len(parts):
            continue
        captured = {}
        for pattern, value in zip(route, parts, strict=True):
            if pattern.startswith("{"):
                captured[pattern[1:-1]] = value
            elif pattern != value:
                break
        else:
            return "/".join(route), captured
    return None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    path = event.get("path") or "/"
    found = match(path)
    if found is None:
        return envelope(404, "not_found", "Not found", f"no such resource: {path}").to_dict()
    route, captured = found
    routed = dict(event)
    routed["pathParameters"] = captured
    routed["resource"] = route
    routed["requestContext"] = {**(event.get("requestContext") or {}), "resourcePath": route}
    return app(routed, context)
