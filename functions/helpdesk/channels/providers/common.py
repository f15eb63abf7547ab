"""What every provider module needs: secret and HMAC checks that fail closed, JSON parsing that
refuses with InvalidInput, and small readers for loosely typed payloads."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from helpdesk.channels.events import WebhookRequest
from helpdesk.errors import DomainError, Forbidden, InvalidInput, Unauthorized
from helpdesk.json_body import json_object

Json = dict[str, Any]


def utf8(value: str) -> bytes:
    """Header text as bytes. surrogatepass keeps it one-to-one (two different strings never
    compare equal) and never raises on what a gateway may hand us; compare_digest itself
    refuses non-ASCII str."""
    return value.encode("utf-8", "surrogatepass")


def same(given: str, expected: str) -> bool:
    """Constant-time equality of two secrets or signatures."""
    return hmac.compare_digest(utf8(given), utf8(expected))


def hmac_sha256_hex(key: str, message: bytes) -> str:
    return hmac.new(utf8(key), message, hashlib.sha256).hexdigest()


def configured(value: str, what: str) -> str:
    """A channel without its secret could be driven by anyone: refuse instead of skipping."""
    if not value:
        raise Forbidden(f"the channel has no {what} configured, so the request cannot be verified")
    return value


def header(request: WebhookRequest, name: str) -> str:
    """A required header; its absence means the caller did not authenticate at all."""
    value = request.headers.get(name.lower(), "").strip()
    if not value:
        raise Unauthorized(f"missing {name} header")
    return value


def check_secret(given: str, expected: str, what: str) -> None:
    if not same(given, expected):
        raise Forbidden(f"{what} does not match")


def check_hex_signature(given: str, key: str, message: bytes, what: str) -> None:
    if not same(given.lower(), hmac_sha256_hex(key, message)):
        raise Forbidden(f"{what} does not match the body")


def require_method(request: WebhookRequest, *allowed: str) -> str:
    method = request.method.upper()
    if method not in allowed:
        raise InvalidInput(f"method {method} is not accepted here; use {' or '.join(allowed)}")
    return method


def parse_object(body: bytes) -> Json:
    """The body as a JSON object; anything else is the sender's mistake (400)."""
    return json_object(body, field=None, stored_numbers=False)


@contextmanager
def payload_shape(provider: str) -> Iterator[None]:
    """A verified payload missing a field we rely on is a 400 naming the provider, not a 500."""
    try:
        yield
    except DomainError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise InvalidInput(f"malformed {provider} payload: {type(exc).__name__} {exc}") from None


def obj(value: Any) -> Json:
    """A nested object, or an empty one when the provider left it out."""
    return value if isinstance(value, dict) else {}


def items(value: Any) -> list[Json]:
    """A list of objects, skipping anything else."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def text(value: Any) -> str:
    """A scalar as a string (ids arrive as numbers or strings depending on the provider)."""
    if value is None or isinstance(value, dict | list):
        return ""
    if isinstance(value, bool):
        return "true" if value else ""
    return str(value)


def size(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def from_unix(value: Any, *, millis: bool = False) -> datetime | None:
    try:
        seconds = float(value) / (1000 if millis else 1)
        return datetime.fromtimestamp(seconds, UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def phone(value: Any) -> str:
    """E.164 with its plus: providers send `79001234567`, `+7 900 123-45-67` and so on."""
    digits = "".join(ch for ch in text(value) if ch.isdigit())
    return f"+{digits}" if digits else ""


def location_ref(lat: Any, lon: Any) -> str:
    """`lat,lon` as the provider gave them (float() refuses garbage, keeps the precision)."""
    return f"{float(lat)},{float(lon)}"


def shared_contact(name: str, number: str | None) -> str:
    """A contact card someone else's: kept as text so the agent sees it on the ticket."""
    return " ".join(part for part in ("Contact:", name.strip(), phone(number)) if part)
