"""Helpers for tests that drive the running local stack over HTTP."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import requests

T = TypeVar("T")


def session(email: str, key: str) -> requests.Session:
    """A keep-alive HTTP session with the API's Basic `email:api_key`."""
    client = requests.Session()
    client.auth = (email, key)
    return client


def wait_for(check: Callable[[], T], seconds: float = 30.0) -> T:
    """Polls `check` until it returns something truthy or time runs out (then its last
    value): workflows run after the request that started them has been answered."""
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)
