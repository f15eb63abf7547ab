"""Domain errors. They say what went wrong; `problems.py` alone maps them to HTTP."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError


class DomainError(Exception):
    code = "error"
    title = "Error"

    def __init__(self, details: str, *, field: str | None = None) -> None:
        super().__init__(details)
        self.details = details
        self.field = field


class NotFound(DomainError):
    code = "not_found"
    title = "Not found"


class InvalidInput(DomainError):
    code = "invalid_field"
    title = "Invalid input"


class UnknownReference(InvalidInput):
    """Well-formed input that names something that does not exist, or cannot be used there
    (a user id where an active agent is needed, a URL the SSRF guard will not reach): a 422,
    where a 400 says the input itself is malformed, so the OpenAPI schema (which knows no ids
    or addresses) tells the two apart."""


class Unauthorized(DomainError):
    code = "unauthorized"
    title = "Authentication required"


class Forbidden(DomainError):
    code = "forbidden"
    title = "Not allowed"


class UnsupportedMediaType(DomainError):
    code = "unsupported_media_type"
    title = "Unsupported media type"


class PayloadTooLarge(DomainError):
    code = "payload_too_large"
    title = "Payload too large"


class Conflict(DomainError):
    code = "conflict"
    title = "Conflict"


class RateLimited(DomainError):
    code = "rate_limited"
    title = "Too many requests"

    def __init__(self, details: str, *, retry_after: int) -> None:
        super().__init__(details)
        self.retry_after = retry_after


def where_and_why(error: ValidationError, *prefix: str) -> tuple[str, str]:
    """The first problem of a pydantic validation: the dotted field (`value.days`) and the
    message."""
    first = error.errors()[0]
    return ".".join([*prefix, *(str(part) for part in first["loc"])]), first["msg"]


def invalid_input(error: ValidationError) -> InvalidInput:
    """A validation of outside input as the 400 that names its field."""
    where, why = where_and_why(error)
    return InvalidInput(f"{where}: {why}", field=where)
