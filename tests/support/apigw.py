"""API Gateway REST proxy events for calling Lambda handlers directly in tests."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit


def proxy_event(method: str, url: str, body: Any = None,
                headers: dict[str, str] | None = None) -> dict[str, Any]:
    parts = urlsplit(url)
    query = parse_qs(parts.query, keep_blank_values=True)
    if body is not None and not isinstance(body, str | bytes):
        body = json.dumps(body)
    if isinstance(body, bytes):
        body = body.decode()
    all_headers = {"content-type": "application/json", **(headers or {})}
    return {
        "resource": "/api/v2/{proxy+}",
        "path": parts.path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": {"proxy": parts.path.removeprefix("/api/v2/")},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/api/v2/{proxy+}",
            "httpMethod": method,
            "path": "/local" + parts.path,
            "stage": "local",
            "requestId": str(uuid.uuid4()),
            "identity": {"sourceIp": "127.0.0.1"},
        },
        "body": body,
        "isBase64Encoded": False,
    }


def basic(email: str, api_key: str) -> dict[str, str]:
    token = base64.b64encode(f"{email}:{api_key}".encode()).decode()
    return {"authorization": f"Basic {token}"}
