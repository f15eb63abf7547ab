"""Schemathesis drives every operation of our OpenAPI document with generated input, valid
and invalid, over real HTTP: no answer may be a server error."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings

from api.openapi import DOCS
from tests.conftest import ADMIN_EMAIL, ADMIN_KEY, Clock, make_helpdesk
from tests.support.apigw import basic

# CI runs a fixed, repeatable sample; FUZZ_EXAMPLES=500 FUZZ_RANDOM=1 hunts wider.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "20"))
DERANDOMIZE = not os.environ.get("FUZZ_RANDOM")


@pytest.fixture(scope="module")
def served() -> Iterator[str]:
    from chalice.local import LocalChalice

    import api.handler
    from api import deps
    from devstack.gateway import LocalGateway, Route
    from helpdesk.store.memory import MemoryTable

    deps.helpdesk.use(make_helpdesk(MemoryTable(), Clock()))
    original_class = api.handler.app.__class__
    api.handler.app.__class__ = LocalChalice  # threaded server: per-thread current request
    gateway = LocalGateway([Route("/api/v2", api.handler.handler, "/api/v2/{proxy+}")],
                           quiet=True).start()
    try:
        yield gateway.url
    finally:
        gateway.stop()
        api.handler.app.__class__ = original_class


@pytest.fixture(scope="module")
def api_schema(served: str):
    document = requests.get(f"{served}/api/v2/openapi.json", timeout=10).json()
    schema = schemathesis.openapi.from_dict(document)
    schema.config.update(base_url=served)
    return schema


def test_no_generated_request_gets_a_server_error(api_schema) -> None:
    # Driven by hand: schemathesis' pytest plugin does not run on pytest 9 yet.
    auth = basic(ADMIN_EMAIL, ADMIN_KEY)
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) == len(DOCS)

    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=DERANDOMIZE,
                  suppress_health_check=list(HealthCheck))
        def no_server_error(case) -> None:
            response = case.call(headers=auth)
            assert response.status_code < 500, (
                f"{case.method} {case.formatted_path} -> {response.status_code}: "
                f"{response.text[:300]}")
            if response.status_code >= 400:
                assert response.json()["errors"][0]["details"]

        no_server_error()


def test_every_route_is_documented():
    from api.app import app
    from api.openapi import PREFIX

    routes = {(method, path.removeprefix(PREFIX)) for path, methods in app.routes.items()
              for method in methods}
    assert routes == set(DOCS)
