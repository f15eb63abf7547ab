"""The served OpenAPI document: who needs a key, what answers look like, body limits, and the
limits enforced as documented."""

from __future__ import annotations

import json
from typing import Any

import pytest

from api.openapi import DOCS, PREFIX, SMALL_BODY, TEXT_BODY
from api.routes.public import PUBLIC_PATHS


@pytest.fixture
def document(api) -> dict[str, Any]:
    answer = api.call("GET", "/openapi.json", auth=False)
    assert answer.status == 200
    return answer.body


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method.upper(), path.removeprefix(PREFIX), operation)
            for path, methods in document["paths"].items()
            for method, operation in methods.items()]


def test_public_operations_need_no_key_and_the_rest_basic_auth(document):
    assert document["components"]["securitySchemes"]["basic"] == {
        "type": "http", "scheme": "basic", "description": "email:api_key"}
    assert document["security"] == [{"basic": []}]
    public = {(method, path) for method, path, operation in _operations(document)
              if operation.get("security") == []}
    assert public == {key for key in DOCS if key[1] in PUBLIC_PATHS | {"/openapi.json"}}
    assert all("security" not in operation for method, path, operation
               in _operations(document) if (method, path) not in public)


def test_every_answer_describes_its_object(document):
    for method, path, operation in _operations(document):
        ok = operation["responses"].get("200")
        if path.endswith("/files/{file_id}"):
            assert "Location" in operation["responses"]["302"]["headers"]
            continue
        schema = ok["content"]["application/json"]["schema"]
        if path == "/openapi.json":
            continue
        assert schema["required"][0] == "data", (method, path)
        assert schema["properties"]["data"], f"{method} {path}: data is not described"
        assert operation["responses"]["4XX"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Errors"}
    ticket = document["components"]["schemas"]["Ticket"]
    assert {"id", "unique_id", "title", "status_id", "date_created"} <= set(ticket["required"])


def test_every_operation_documents_its_body_limit(document):
    for method, path, operation in _operations(document):
        assert operation["x-max-body-bytes"] == DOCS[(method, path)].max_body
        assert f"{operation['x-max-body-bytes']:,} bytes" in operation["description"]
    limits = {(m, p): op["x-max-body-bytes"] for m, p, op in _operations(document)}
    assert limits[("POST", "/tickets")] == TEXT_BODY
    assert limits[("GET", "/tickets")] == SMALL_BODY


def test_the_email_schema_knows_the_domains_email_validator_refuses():
    import email_validator

    from helpdesk.inputs import SPECIAL_USE_DOMAIN_NAMES

    assert set(SPECIAL_USE_DOMAIN_NAMES) == set(email_validator.SPECIAL_USE_DOMAIN_NAMES)


def test_dictionary_flags_are_validated_and_a_status_needs_its_id(api):
    """The flags were stored as sent; a status without an id passed the schema."""
    assert api.call("POST", "/groups", {"name": {"en": "Boss"}, "role": "boss"}).status == 400
    group = api.call("POST", "/groups", {"name": {"en": "Leads"}, "role": "agent"})
    assert group.status == 200 and group.body["data"]["role"] == "agent"
    assert api.call("POST", "/statuses", {"name": {"en": "Waiting"}}).status == 400
    assert api.call("POST", "/statuses", {"id": "waiting", "name": {"en": "W"}}).status == 200
    again = api.call("POST", "/statuses", {"id": "waiting", "name": {"en": "W"}})
    assert again.status == 409  # a state conflict, not malformed input


def test_null_leaves_a_channel_field_as_it_is(api):
    """`"enabled": null` was stored as is; every later read of the channel failed (400)."""
    channel = api.call("POST", "/channels", {"type": "webchat", "name": "Site"}).body["data"]
    changed = api.call("PUT", f"/channels/{channel['id']}", {"enabled": None, "name": None})
    assert changed.status == 200 and changed.body["data"]["enabled"] is True
    assert api.call("GET", f"/channels/{channel['id']}").body["data"]["name"] == "Site"


def _body_of_size(size: int, **fields: str) -> str:
    """A JSON ticket of exactly `size` bytes, padded in its description."""
    empty = json.dumps({**fields, "description": ""})
    return json.dumps({**fields, "description": "a" * (size - len(empty))})


def test_a_body_one_byte_over_the_limit_is_refused_and_nothing_is_stored(api):
    fields = {"title": "big", "user_email": "c@x.io"}
    over = api.call("POST", "/tickets", _body_of_size(TEXT_BODY + 1, **fields))
    assert over.status == 413
    error = over.body["errors"][0]
    assert error["code"] == "payload_too_large" and error["source"] == {"field": "body"}
    assert f"at most {TEXT_BODY:,}" in error["details"]
    assert f"{TEXT_BODY + 1:,} bytes" in error["details"]
    assert api.call("GET", "/tickets").body["data"] == {}
    # At the limit the size is no reason to refuse (the text itself is then too long: 400).
    at_limit = api.call("POST", "/tickets", _body_of_size(TEXT_BODY, **fields))
    assert at_limit.status == 400 and at_limit.body["errors"][0]["source"]["field"] == (
        "description")


def test_public_and_unauthenticated_requests_get_the_limit_too(api):
    over = api.call("POST", "/chat/visitor/id", "x" * (SMALL_BODY + 1), auth=False)
    assert over.status == 413 and over.body["errors"][0]["code"] == "payload_too_large"
    unauthenticated = api.call("POST", "/tickets", "x" * (TEXT_BODY + 1), auth=False)
    assert unauthenticated.status == 413
