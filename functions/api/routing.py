"""Route registration with the error mapping every view shares, and the calling viewer."""

from __future__ import annotations

import contextvars
import functools
import json
from collections.abc import Callable
from typing import Any

from chalice import Blueprint, Response
from pydantic import ValidationError

from api import errors
from helpdesk.access import Viewer
from helpdesk.errors import DomainError

# Bodies are JSON; form posts are accepted too because PHP integrations often send them.
CONTENT_TYPES = ["application/json", "application/x-www-form-urlencoded", "text/plain"]

_viewer: contextvars.ContextVar[Viewer] = contextvars.ContextVar("viewer")


def set_viewer(viewer: Viewer) -> None:
    _viewer.set(viewer)


def viewer() -> Viewer:
    return _viewer.get()


def endpoint(
    blueprint: Blueprint, path: str, methods: tuple[str, ...] = ("GET",), name: str = ""
) -> Callable:
    """Register a view; domain and validation errors become the errors envelope.
    `name` tells apart views made in a loop (Chalice wants unique view names)."""

    def register(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def guarded(**kwargs: Any) -> Any:
            try:
                return view(**kwargs)
            except DomainError as error:
                return errors.from_domain(error)
            except ValidationError as error:
                return errors.from_validation(error)
            except Exception as error:
                return errors.unexpected(error)

        if name:
            guarded.__name__ = name

        blueprint.route(path, methods=list(methods), content_types=CONTENT_TYPES)(guarded)
        return view

    return register


def data(payload: Any, status: int = 200, **extra: Any) -> Response:
    body = json.dumps({"data": payload, **extra}, ensure_ascii=False)
    return Response(body=body, status_code=status, headers={"Content-Type": errors.JSON_TYPE})
