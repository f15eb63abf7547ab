"""Pytest fixtures around the fake provider servers (registered from tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.providers import FakeProviders


@pytest.fixture
def fake_providers() -> Iterator[FakeProviders]:
    """A started fake of every messenger API; `fake_providers.url` is the base URL."""
    with FakeProviders() as fake:
        yield fake
