"""The one place that maps domain errors (and malformed requests) to HTTP answers."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from chalice import Response
from pydantic import ValidationError

from helpdesk import errors

logger = logging.getLogger(__name__)

STATUS = {
    errors.InvalidInput: 400,
    errors.Unauthorized: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.RateLimited: 429,
}

JSON_TYPE = "application/json; charset=utf-8"


def envelope(status: int, code: str, title: str, details: str,
             headers: Mapping[str, str | list[str]] | None = None,
             field: str | None = None) -> Response:
    error: dict[str, Any] = {"code": code, "title": title, "details": details}
    if field:
        error["source"] = {"field": field}
    return Response(
        body=json.dumps({"errors": [error]}, ensure_ascii=False),
        status_code=status,
        headers={"Content-Type": JSON_TYPE, **(headers or {})},
    )


def from_domain(error: errors.DomainError) -> Response:
    status = next((code for kind, code in STATUS.items() if isinstance(error, kind)), 400)
    headers = {}
    if isinstance(error, errors.RateLimited):
        headers["Retry-After"] = str(error.retry_after)
    return envelope(status, error.code, error.title, error.details, headers, error.field)


def from_validation(error: ValidationError) -> Response:
    """Name every offending field: `priority_id: Input should be a valid integer`."""
    problems = []
    for problem in error.errors():
        field = ".".join(str(part) for part in problem["loc"]) or "body"
        problems.append({
            "code": "invalid_field",
            "title": "Invalid input",
            "details": f"{field}: {problem['msg']}",
            "source": {"field": field},
        })
    return Response(
        body=json.dumps({"errors": problems}, ensure_ascii=False, default=str),
        status_code=400,
        headers={"Content-Type": JSON_TYPE},
    )


def unexpected(error: Exception) -> Response:
    logger.exception("unhandled error", exc_info=error)
    return envelope(500, "internal_error", "Internal error",
                    "the request could not be completed; it has been logged")


# Chalice answers some requests itself ({"Code", "Message"}); give them our envelope.
CHALICE_CODES = {
    "BadRequestError": ("bad_request", "Bad request"),
    "UnsupportedMediaType": ("unsupported_media_type", "Unsupported media type"),
    "MethodNotAllowedError": ("method_not_allowed", "Method not allowed"),
    "NotFoundError": ("not_found", "Not found"),
}


def rewrap_chalice_error(response: Response) -> Response:
    body = response.body
    if isinstance(body, str) and body.startswith("{") and '"Code"' in body:
        body = json.loads(body)
    if not (isinstance(body, dict) and "Code" in body and "Message" in body):
        return response
    code, title = CHALICE_CODES.get(body["Code"], ("error", body["Code"]))
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-type"}
    return envelope(response.status_code, code, title, str(body["Message"]), headers)
