"""The HTTP answer of a domain error, shared by the API (`api/errors.py` wraps it in a
Chalice response) and the webhook receiver (which answers API Gateway itself): the status,
the headers and the `{"errors": [...]}` body. Plain data: no web framework here."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from helpdesk import errors

# The first class an error is an instance of decides (subclasses first).
STATUS = {
    errors.UnknownReference: 422,
    errors.InvalidInput: 400,
    errors.Unauthorized: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.PayloadTooLarge: 413,
    errors.UnsupportedMediaType: 415,
    errors.RateLimited: 429,
}

JSON_TYPE = "application/json; charset=utf-8"


@dataclass(frozen=True)
class Problem:
    status: int
    body: str  # JSON text
    headers: Mapping[str, str | list[str]] = field(default_factory=dict)

    def proxy_answer(self) -> dict[str, Any]:
        """The API Gateway proxy answer (the shape Chalice's `Response.to_dict` gives)."""
        single = {k: v for k, v in self.headers.items() if not isinstance(v, list)}
        multi = {k: v for k, v in self.headers.items() if isinstance(v, list)}
        return {"headers": single, "multiValueHeaders": multi, "statusCode": self.status,
                "body": self.body}


def problem(status: int, code: str, title: str, details: str,
            headers: Mapping[str, str | list[str]] | None = None,
            field: str | None = None) -> Problem:
    error: dict[str, Any] = {"code": code, "title": title, "details": details}
    if field:
        error["source"] = {"field": field}
    return Problem(status, json.dumps({"errors": [error]}, ensure_ascii=False),
                   {"Content-Type": JSON_TYPE, **(headers or {})})


def of_domain_error(error: errors.DomainError) -> Problem:
    status = next((code for kind, code in STATUS.items() if isinstance(error, kind)), 400)
    headers = {}
    if isinstance(error, errors.RateLimited):
        headers["Retry-After"] = str(error.retry_after)
    return problem(status, error.code, error.title, error.details, headers, error.field)
