"""Domain errors (and malformed requests) as Chalice responses; the mapping itself is
`helpdesk/problems.py`, which the webhook receiver shares."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping

from chalice import Response
from pydantic import ValidationError

from helpdesk import errors, problems

logger = logging.getLogger(__name__)

JSON_TYPE = problems.JSON_TYPE


def _response(found: problems.Problem) -> Response:
    return Response(body=found.body, status_code=found.status, headers=dict(found.headers))


def envelope(status: int, code: str, title: str, details: str,
             headers: Mapping[str, str | list[str]] | None = None,
             field: str | None = None) -> Response:
    return _response(problems.problem(status, code, title, details, headers, field))


def from_domain(error: errors.DomainError) -> Response:
    return _response(problems.of_domain_error(error))


def from_validation(error: ValidationError) -> Response:
    """Name every offending field: `priority_id: Input should be a valid integer`."""
    found = []
    for problem in error.errors():
        field = ".".join(str(part) for part in problem["loc"]) or "body"
        found.append({
            "code": "invalid_field",
            "title": "Invalid input",
            "details": f"{field}: {problem['msg']}",
            "source": {"field": field},
        })
    return Response(
        body=json.dumps({"errors": found}, ensure_ascii=False, default=str),
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
