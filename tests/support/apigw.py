"""API Gateway REST proxy events for calling the api Lambda handler directly (tests, bench):
the same events the local gateway builds."""

from __future__ import annotations

import base64
import json
from typing import Any

from devstack.gateway import Route, build_event

API_ROUTE = Route("/api/v2", lambda event, context: {}, "/api/v2/{proxy+}")


def proxy_event(method: str, url: str, body: Any = None,
                headers: dict[str, str] | None = None,
                source_ip: str = "127.0.0.1") -> dict[str, Any]:
    if body is not None and not isinstance(body, str | bytes):
        body = json.dumps(body)
    raw = body.encode() if isinstance(body, str) else (body or b"")
    all_headers = {"content-type": "application/json", **(headers or {})}
    return build_event(API_ROUTE, method, url, all_headers.items(), raw, source_ip=source_ip)


def basic(email: str, api_key: str) -> dict[str, str]:
    token = base64.b64encode(f"{email}:{api_key}".encode()).decode()
    return {"authorization": f"Basic {token}"}
