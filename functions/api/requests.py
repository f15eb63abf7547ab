"""Reading requests: JSON or form bodies into pydantic inputs, query filters, pages."""

from __future__ import annotations

import math
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from chalice.app import Request
from pydantic import BaseModel, ValidationError

from helpdesk.dates import parse_datetime
from helpdesk.errors import InvalidInput
from helpdesk.json_body import json_object

InputT = TypeVar("InputT", bound=BaseModel)

FLAGS = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}
PER_PAGE = 30
MAX_PER_PAGE = 100


def body_of(request: Request) -> dict[str, Any]:
    raw = request.raw_body or b""
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    if not raw.strip():
        return {}
    content_type = (request.headers.get("content-type") or "application/json").lower()
    if content_type.startswith("application/x-www-form-urlencoded"):
        return _form(raw.decode("utf-8", errors="replace"))
    return json_object(raw)


def parse(model: type[InputT], request: Request) -> InputT:
    """Validate the body; raises pydantic's ValidationError (mapped to 400 by field)."""
    return model.model_validate(body_of(request))


def _form(text: str) -> dict[str, Any]:
    """`cc[]=a&cc[]=b&custom_fields[3]=x` -> {"cc": ["a", "b"], "custom_fields": {"3": "x"}}."""
    result: dict[str, Any] = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        if key.endswith("[]"):
            _shaped(result, key[:-2], list).append(value)
        elif "[" in key and key.endswith("]"):
            name, _, inner = key[:-1].partition("[")
            _shaped(result, name, dict)[inner] = value
        else:
            _shaped(result, key, str)
            result[key] = value
    return result


def _shaped(form: dict[str, Any], name: str, shape: type) -> Any:
    """The field's value so far, created empty; a field sent as `x`, `x[]` and `x[k]` at once
    is a 400 naming it."""
    if name not in form:
        form[name] = shape()
    elif not isinstance(form[name], shape):
        raise InvalidInput(f"{name} is sent both as {_FORM_SHAPES[type(form[name])]} and as "
                           f"{_FORM_SHAPES[shape]}", field=name)
    return form[name]


_FORM_SHAPES: dict[type, str] = {str: "a value (x=)", list: "a list (x[]=)",
                                 dict: "a map (x[key]=)"}


class Query:
    """Typed access to query-string filters with errors that name the parameter."""

    def __init__(self, request: Request) -> None:
        self._params: dict[str, str] = dict(request.query_params or {})

    def text(self, name: str) -> str | None:
        value = self._params.get(name)
        return value if value not in (None, "") else None

    def number(self, name: str) -> int | None:
        value = self.text(name)
        return None if value is None else path_id(value, name)

    def flag(self, name: str) -> bool:
        """true/false, 1/0, yes/no; anything else is a 400 (it was read as false)."""
        value = (self.text(name) or "false").lower()
        if value not in FLAGS:
            raise InvalidInput(f"{name} must be true or false", field=name)
        return FLAGS[value]

    def moment(self, name: str) -> Any:
        value = self.text(name)
        if value is None:
            return None
        try:
            return parse_datetime(value)
        except ValueError as error:
            raise InvalidInput(f"{name}: {error}", field=name) from None

    def choice(self, name: str, allowed: set[str]) -> str | None:
        value = self.text(name)
        if value is not None and value not in allowed:
            raise InvalidInput(f"{name} must be one of {sorted(allowed)}", field=name)
        return value


def page_size(query: Query) -> tuple[int, int]:
    """`page` (from 1) and `per_page` (at most MAX_PER_PAGE)."""
    return query.number("page") or 1, min(query.number("per_page") or PER_PAGE, MAX_PER_PAGE)


def window(query: Query) -> tuple[int, int, int]:
    """(page, per_page, how many to read: the pages up to this one and one more to know
    whether another follows). A page past the end reads everything there is, no more."""
    page, per_page = page_size(query)
    return page, per_page, page * per_page + 1


def paginate_read(read: list[Any], query: Query) -> tuple[list[Any], dict[str, Any]]:
    """The page of what `window` said to read. When more follow, the total is unknown:
    `total` counts what was read and `total_is_exact` is false."""
    page, per_page = page_size(query)
    more = len(read) > page * per_page
    shown = read[(page - 1) * per_page:page * per_page]
    total = len(read)
    pagination: dict[str, Any] = {"total": total, "per_page": per_page, "current_page": page,
                                  "total_pages": max(1, math.ceil(total / per_page))}
    if more:
        pagination["total_is_exact"] = False
    return shown, pagination


def page_pagination(shown: int, more: bool, query: Query) -> dict[str, Any]:
    """The `pagination` of a page read from the start of its index: exact at the end; while
    more follow, `total` counts what was read (a lower bound) and `total_is_exact` is false."""
    page, per_page = page_size(query)
    total = (page - 1) * per_page + shown + (1 if more else 0)
    pagination: dict[str, Any] = {"total": total, "per_page": per_page, "current_page": page,
                                  "total_pages": max(1, math.ceil(total / per_page))}
    if more:
        pagination["total_is_exact"] = False
    return pagination


def paginate(items: list[Any], query: Query) -> tuple[list[Any], dict[str, int]]:
    page, per_page = page_size(query)
    total = len(items)
    start = (page - 1) * per_page
    return items[start : start + per_page], {
        "total": total,
        "per_page": per_page,
        "current_page": page,
        "total_pages": max(1, math.ceil(total / per_page)),
    }


def path_id(value: str, name: str) -> int:
    """A positive integer id from a path segment or query parameter, or a 400 naming it."""
    try:
        number = int(value)
    except ValueError:
        raise InvalidInput(f"{name} must be an integer, not {value!r}", field=name) from None
    if number < 1:
        raise InvalidInput(f"{name} must be a positive integer", field=name)
    return number


__all__ = ["Query", "ValidationError", "body_of", "page_size", "paginate", "paginate_read",
           "parse", "path_id", "window"]
