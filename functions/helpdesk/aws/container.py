"""The one way a handler builds its collaborators: a factory marked `@per_container` runs once
per Lambda container (or local process), from the function's settings model
(`settings_of(Settings)`, helpdesk/aws/environment.py), on first use.

Tests and the local stack substitute what a factory builds with `<factory>.use(value)` and
forget every substitution and built value with `<factory>.cache_clear()`:

    @per_container
    def outbound() -> Outbound:          # in functions/<name>/handler.py
        settings = settings_of(Settings)  # functions/<name>/settings.py
        return Outbound(...)

    deliver.handler.outbound.use(Outbound(memory_helpdesk, ...))   # in a test

This module imports nothing heavy: a handler that needs no AWS client pays nothing for it."""

from __future__ import annotations

from collections.abc import Callable
from functools import update_wrapper
from typing import Generic, TypeVar

T = TypeVar("T")


class PerContainer(Generic[T]):
    """A factory called at most once per process until `cache_clear()`; `use` replaces it."""

    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._value: list[T] = []  # empty: not built yet
        update_wrapper(self, build)

    def __call__(self) -> T:
        if not self._value:
            self._value.append(self._build())
        return self._value[0]

    def use(self, value: T) -> None:
        """From now on the factory returns `value` (tests, the local stack)."""
        self._value[:] = [value]

    def cache_clear(self) -> None:
        """Forget what was built or substituted: the next call builds from the environment."""
        self._value.clear()


def per_container(build: Callable[[], T]) -> PerContainer[T]:
    return PerContainer(build)
