"""Schemathesis drives every operation of our OpenAPI document with generated input, valid
and invalid, over real HTTP, and runs its checks on every answer: no server error, statuses,
content types, headers and bodies as documented, schema-valid requests accepted and
schema-invalid ones refused."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import CheckFunction
from schemathesis.config import SchemathesisConfig

from api.openapi import DOCS
from tests.conftest import ADMIN_EMAIL, ADMIN_KEY, Clock, make_helpdesk
from tests.support.apigw import basic

# `make test` runs a fixed, repeatable sample; `make fuzz` (FUZZ_EXAMPLES=500 FUZZ_RANDOM=1)
# hunts wider.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "8"))
DERANDOMIZE = not os.environ.get("FUZZ_RANDOM")

CHECKS: list[CheckFunction] = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_headers_conformance,
    schemathesis.checks.response_schema_conformance,
    schemathesis.checks.negative_data_rejection,
    schemathesis.checks.positive_data_acceptance,
]
# A schema-valid request may still name an id that does not exist: 404 for one in the path
# (schemathesis' default), 422 for one in the body (UnknownReference), documented as such.
ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "422", "429"]
# Schemathesis' refusals, and 413: an invalid body may be refused for its size first.
REFUSED = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]
# Checks an operation is excused from, and why (none is excused everywhere).
_RULE_SHAPES = ("the value a condition or an action takes depends on its op or type, and a "
                "regex or a note's placeholders must compile: one schema per combination "
                "is not written yet")
_CALENDAR_LISTS = ("timezone must be an IANA zone, holiday_country one the holidays package "
                   "knows and holiday_subdivision one of its subdivisions; the scope must "
                   "match department_id/agent_id: lists and rules the schema does not carry")
_TEMPLATE_TEXTS = "a text must be a valid template: placeholders and Jinja syntax"
_TICKET_PAGES = ("page * per_page is capped at 10,000 (a product the schema cannot carry), a "
                 "cursor must be one the API returned for the same list and a queue one of "
                 "the names docs/api.md lists with a value of its kind")
EXCUSED: dict[tuple[str, str], dict[str, str]] = {
    ("GET", "/tickets"): {"positive_data_acceptance": _TICKET_PAGES},
    ("POST", "/rules"): {"positive_data_acceptance": _RULE_SHAPES},
    ("PUT", "/rules/{rule_id}"): {"positive_data_acceptance": _RULE_SHAPES},
    ("POST", "/calendars"): {"positive_data_acceptance": _CALENDAR_LISTS},
    ("PUT", "/calendars/{calendar_id}"): {"positive_data_acceptance": _CALENDAR_LISTS},
    ("POST", "/templates"): {"positive_data_acceptance": _TEMPLATE_TEXTS},
    ("PUT", "/templates/{template_id}"): {"positive_data_acceptance": _TEMPLATE_TEXTS},
}


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
def api_schema(served: str) -> Any:
    document = requests.get(f"{served}/api/v2/openapi.json", timeout=10).json()
    config = SchemathesisConfig.from_dict({"checks": {
        "positive_data_acceptance": {"expected-statuses": ACCEPTED},
        "negative_data_rejection": {"expected-statuses": REFUSED}}})
    schema = schemathesis.openapi.from_dict(document, config=config)
    schema.config.update(base_url=served)
    return schema


def _checks_for(method: str, path: str) -> list[CheckFunction]:
    excused = EXCUSED.get((method, path.removeprefix("/api/v2")), {})
    return [check for check in CHECKS if check.__name__ not in excused]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                         ids=["valid", "invalid"])
def test_every_operation_answers_as_documented(api_schema: Any, mode: GenerationMode) -> None:
    # Driven by hand: schemathesis' pytest plugin does not run on pytest 9 yet.
    auth = basic(ADMIN_EMAIL, ADMIN_KEY)
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) == len(DOCS)
    failures: list[str] = []
    for operation in operations:
        doc = DOCS[(operation.method.upper(), operation.path.removeprefix("/api/v2"))]
        if mode is GenerationMode.NEGATIVE and not (doc.body or doc.query or doc.headers
                                                    or "{" in operation.path):
            continue  # takes no input, so none can be invalid
        checks = _checks_for(operation.method.upper(), operation.path)
        try:
            _fuzz(operation, mode, auth, checks)()
        except (Exception, BaseExceptionGroup) as failure:  # each operation's, then report
            failures.append(f"{operation.method.upper()} {operation.path}: {failure}"[:2000])
    assert not failures, f"{len(failures)} operations failed:\n\n" + "\n\n".join(failures)


def _fuzz(operation: Any, mode: GenerationMode, auth: dict[str, str],
          checks: list[CheckFunction]) -> Callable[[], None]:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=DERANDOMIZE,
              suppress_health_check=list(HealthCheck), report_multiple_bugs=False)
    def answers_as_documented(case: Any) -> None:
        case.call_and_validate(headers=auth, checks=checks)

    return answers_as_documented


def test_every_route_is_documented():
    from api.app import app
    from api.openapi import PREFIX

    routes = {(method, path.removeprefix(PREFIX)) for path, methods in app.routes.items()
              for method in methods}
    assert routes == set(DOCS)
