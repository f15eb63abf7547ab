from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from helpdesk.store.memory import MemoryTable
from tests.conftest import ADMIN_EMAIL, ADMIN_KEY
from tests.support.apigw import basic, proxy_event
from tests.support.stream import IndexingFeed


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any


class ApiClient:
    """Calls the api Lambda handler with API Gateway proxy events, as AWS would."""

    def __init__(self, email: str = ADMIN_EMAIL, key: str = ADMIN_KEY,
                 feed: IndexingFeed | None = None) -> None:
        self.auth = basic(email, key)
        self.feed = feed

    def call(self, method: str, path: str, body: Any = None,
             headers: dict[str, str] | None = None, auth: bool = True,
             source_ip: str = "127.0.0.1") -> Answer:
        from api.handler import handler

        if self.feed is not None:  # the stream delivered the earlier writes (no lag here)
            self.feed.drain()
        all_headers = {**(self.auth if auth else {}), **(headers or {})}
        raw = handler(proxy_event(method, "/api/v2" + path, body, all_headers, source_ip),
                      None)
        text = raw["body"]
        return Answer(raw["statusCode"], raw.get("headers") or {},
                      json.loads(text) if text else None)

    def as_user(self, email: str, key: str) -> ApiClient:
        return ApiClient(email, key, self.feed)


@pytest.fixture
def api(helpdesk) -> ApiClient:
    from api import deps

    deps.helpdesk.use(helpdesk)
    feed = IndexingFeed(helpdesk.table) if isinstance(helpdesk.table, MemoryTable) else None
    return ApiClient(feed=feed)
