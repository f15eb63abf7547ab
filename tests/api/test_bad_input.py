"""Bad input on every route: a 4xx with the errors envelope that names the problem,
never a 500, and nothing stored changes."""

from __future__ import annotations

import pytest

from api.app import app
from api.routes.meta import PUBLIC_ROUTES

ROUTES = sorted(
    (path.removeprefix("/api/v2"), method)
    for path, methods in app.routes.items()
    for method in methods
    if path not in PUBLIC_ROUTES
)
IDS = {"ticket_id": "1", "message_id": "1", "user_id": "1", "organization_id": "1",
       "file_id": "1001"}


def _concrete(path: str, **ids: str) -> str:
    for name, value in {**IDS, **ids}.items():
        path = path.replace("{" + name + "}", value)
    return path


def _assert_envelope(answer, status: int, mentions: str = "") -> None:
    assert answer.status == status, answer.body
    error = answer.body["errors"][0]
    assert {"code", "title", "details"} <= set(error)
    assert mentions.lower() in (error["details"] + error.get("source", {}).get("field", "")).lower()


@pytest.fixture
def seeded(api):
    ticket = api.call("POST", "/tickets", {"title": "x", "description": "d",
                                           "user_email": "c@x.io"}).body["data"]
    post = api.call("POST", f"/tickets/{ticket['id']}/posts", {"text": "p"}).body["data"]
    api.call("POST", f"/tickets/{ticket['id']}/comments", {"text": "c"})
    return api, ticket, post


@pytest.mark.parametrize(("path", "method"), ROUTES)
def test_missing_and_wrong_auth_are_401(api, path, method):
    _assert_envelope(api.call(method, _concrete(path), auth=False), 401, "authorization")
    wrong = api.as_user("admin@example.com", "not-the-key")
    _assert_envelope(wrong.call(method, _concrete(path)), 401, "wrong")
    garbled = api.call(method, _concrete(path), headers={"authorization": "Basic !!!"}, auth=False)
    _assert_envelope(garbled, 401, "base64")


@pytest.mark.parametrize(("path", "method"),
                         [r for r in ROUTES if r[1] in ("POST", "PUT")
                          and not r[0].endswith(("/restore", "/api_key"))])  # no body
def test_malformed_json_is_400_and_changes_nothing(seeded, path, method):
    api, ticket, _ = seeded
    before = api.call("GET", f"/tickets/{ticket['id']}/audit").body
    _assert_envelope(api.call(method, _concrete(path, ticket_id=str(ticket["id"])), "{nope"),
                     400, "json")
    _assert_envelope(api.call(method, _concrete(path, ticket_id=str(ticket["id"])), "[1, 2]"),
                     400, "object")
    assert api.call("GET", f"/tickets/{ticket['id']}/audit").body == before


@pytest.mark.parametrize(("path", "method"), [r for r in ROUTES if "{" in r[0]])
def test_unknown_and_malformed_ids(seeded, path, method):
    api, _, _ = seeded
    body = {"text": "x", "title": "x", "name": "x", "email": "new@x.io"}
    missing = api.call(method, _concrete(path, ticket_id="99999", user_id="99999",
                                          organization_id="99999", channel_id="99999",
                                          subscription_id="99999", rule_id="99999",
                                          template_id="99999", calendar_id="99999",
                                          policy_id="99999", department_id="99999"), body)
    assert missing.status == 404 or (missing.status == 403 and "user_id" in path), missing.body
    _assert_envelope(missing, missing.status, "99999")
    wrong = api.call(method, _concrete(path, ticket_id="abc", user_id="abc", message_id="abc",
                                        file_id="abc", channel_id="abc", subscription_id="abc",
                                        rule_id="abc", template_id="abc",
                                        organization_id="abc", calendar_id="abc",
                                        policy_id="abc", department_id="abc"), body)
    _assert_envelope(wrong, 400, "integer")


@pytest.mark.parametrize(("payload", "field", "status"), [
    ({"title": ""}, "title", 400),
    ({"title": " "}, "title", 400),
    ({"title": "x", "priority_id": "high"}, "priority_id", 400),
    ({"title": "x", "status_id": "nonexistent"}, "status_id", 422),  # well-formed, unknown
    ({"title": "x", "department_id": 999}, "department_id", 422),
    ({"title": "x", "owner_id": 999}, "owner_id", 422),
    ({"title": "x", "user_email": "not an email"}, "user_email", 400),
    ({"title": "x", "cc": ["nope"]}, "cc", 400),
    ({"title": "x", "sla_date": "yesterday"}, "sla_date", 400),
    ({"title": "x", "followers": ["a"]}, "followers", 400),
    ({"title": "x", "ticket_lock": "maybe"}, "ticket_lock", 400),
    ({"title": ["x"]}, "title", 400),
    ({}, "title", 400),
])
def test_wrong_ticket_fields_are_named(api, payload, field, status):
    _assert_envelope(api.call("POST", "/tickets", payload), status, field)
    assert api.call("GET", "/tickets").body["pagination"]["total"] == 0


@pytest.mark.parametrize(("query", "name"), [
    ("page=0", "page"), ("page=x", "page"), ("status_id=open&priority_id=x", "priority_id"),
    ("created_from=someday", "created_from"), ("owner_id=-1", "owner_id"),
    ("trash=maybe", "trash"),  # was read as false
])
def test_wrong_list_filters_are_named(api, query, name):
    _assert_envelope(api.call("GET", f"/tickets?{query}"), 400, name)


def test_wrong_user_fields_are_named(api):
    _assert_envelope(api.call("POST", "/users", {"name": "x"}), 400, "email")
    _assert_envelope(api.call("POST", "/users", {"name": "x", "email": "a@x.io", "group_id": 99}),
                     422, "group_id")
    _assert_envelope(api.call("GET", "/users?status=sleeping"), 400, "status")
    api.call("POST", "/users", {"name": "x", "email": "dup@x.io"})
    duplicate = api.call("POST", "/users", {"name": "y", "email": "dup@x.io"})
    _assert_envelope(duplicate, 409, "dup@x.io")


def test_unsupported_content_type_and_method(api):
    _assert_envelope(api.call("POST", "/tickets", "x", headers={"content-type": "image/png"}),
                     415, "image/png")
    _assert_envelope(api.call("PATCH", "/tickets"), 405, "patch")


@pytest.mark.parametrize(("method", "path", "body", "field"), [
    ("POST", "/tickets", {"title": "x", "user_email": "c@x.io", "custom_fields": {"": "x"}},
     "custom_fields"),
    ("POST", "/tickets", {"title": "x", "user_email": "c@x.io",
                          "custom_fields": {" ": "x"}}, "custom_fields"),
    ("POST", "/users", {"name": "A", "email": "a@x.io", "custom_fields": {"": 1}},
     "custom_fields"),
    ("POST", "/organizations", {"name": "A", "custom_fields": {"k" * 101: 1}}, "custom_fields"),
    ("POST", "/departments", {"name": {"": "0"}}, "name"),
    ("PUT", "/departments/1", {"name": {"": "0"}}, "name"),
])
def test_a_blank_or_huge_map_key_is_refused_and_lists_keep_working(api, method, path, body,
                                                                   field):
    """A blank key once stored made every list of its kind answer 500 for everyone."""
    _assert_envelope(api.call(method, path, body), 400, field)
    for listing in ("/tickets", "/users", "/departments", "/organizations"):
        assert api.call("GET", listing).status == 200


@pytest.mark.parametrize("address", ["c@x.io\r\nBcc:all@x.io", "c@x.io\nd@x.io", "c\x00@x.io",
                                     "Ann <c@x.io>", "c@x.io,d@x.io"])
def test_an_address_that_would_break_a_mail_header_is_refused(api, address):
    """A CR/LF in `cc` was stored, then every staff reply of the ticket failed to send."""
    ticket = api.call("POST", "/tickets", {"title": "x", "user_email": "c@x.io"}).body["data"]
    _assert_envelope(api.call("PUT", f"/tickets/{ticket['id']}", {"cc": [address]}), 400, "cc")
    _assert_envelope(api.call("POST", "/users", {"name": "A", "email": address}), 400, "email")
    assert api.call("GET", f"/tickets/{ticket['id']}").body["data"]["cc"] == []


@pytest.mark.parametrize(("body", "field"), [
    ({"description": "x" * 1_500_000}, "description"),
    ({"tags": [f"t{n}" for n in range(50_000)]}, "tags"),
    ({"tags": ["x" * 101]}, "tags"),
    ({"custom_fields": {f"f{n}": n for n in range(50_000)}}, "custom_fields"),
    ({"custom_fields": {"notes": "x" * 20_000}}, "custom_fields"),
    ({"custom_fields": {f"f{n}": "ж" * 9_000 for n in range(10)}}, "custom_fields"),
    ({"description": "ж" * 200_000}, "description"),  # 400 KB in UTF-8
    ({"description": "😀" * 70_000}, "description"),  # 280 KB
    ({"cc": [f"c{n}@x.io" for n in range(51)]}, "cc"),
])
def test_a_ticket_too_big_to_store_is_refused_naming_the_field(api, body, field):
    """These were answered 500 (the item over DynamoDB's 400 KB), the gateway takes 10 MB."""
    _assert_envelope(api.call("POST", "/tickets", {"title": "x", "user_email": "c@x.io",
                                                   **body}), 400, field)
    assert api.call("GET", "/tickets").body["data"] == {}


def test_a_body_over_the_operations_limit_is_a_413_naming_it(api):
    """9 MB passed the gateway (10 MB) and was parsed; the limit per operation comes first."""
    answer = api.call("POST", "/tickets", {"title": "x", "description": "x" * 9_000_000})
    _assert_envelope(answer, 413, "x-max-body-bytes")
    assert answer.body["errors"][0]["source"] == {"field": "body"}


@pytest.mark.parametrize(("raw", "words"), [
    ('{"title": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested"),
    ('{"title": ' + "[" * 40 + "]" * 40 + "}", "nested"),
    ('{"title": "x", "priority_id": ' + "9" * 5_000 + "}", "digits"),
    ('{"title": "x", "custom_fields": {"size": 1.5e308}}', "range"),
    ('{"title": "x", "custom_fields": {"size": 5e-324}}', "range"),
    ('{"title": "x", "custom_fields": {"size": 1e400}}', "range"),
    ('{"title": "x", "custom_fields": {"size": NaN}}', "NaN"),
    ('{"title": "x", "custom_fields": {"size": -Infinity}}', "Infinity"),
])
def test_json_a_parser_or_dynamodb_cannot_take_is_refused_naming_why(api, raw, words):
    """These were answered 500: RecursionError, int() over 4,300 digits, floats outside
    DynamoDB's number range (1E-130 to 1E+126) and JSON's non-standard constants."""
    answer = api.call("POST", "/tickets", raw)
    _assert_envelope(answer, 400, "body")
    assert words in answer.body["errors"][0]["details"]
    assert api.call("GET", "/tickets").body["data"] == {}


def test_numbers_dynamodb_stores_exactly_are_kept(api):
    created = api.call("POST", "/tickets", {"title": "x", "user_email": "c@x.io",
                                            "custom_fields": {"a": 1e-120, "b": 9.5e120,
                                                              "c": 12345678901234567890}})
    assert created.status == 200, created.body
    assert created.body["data"]["custom_fields"] == {"a": 1e-120, "b": 9.5e120,
                                                     "c": 12345678901234567890}


@pytest.mark.parametrize("form", ["tags=a&tags[]=b", "tags[]=a&tags=b",
                                  "custom_fields[1]=a&custom_fields[]=b",
                                  "custom_fields=a&custom_fields[1]=b"])
def test_a_form_field_sent_in_two_shapes_is_refused_naming_it(api, form):
    """`x`, `x[]` and `x[k]` together were answered 500."""
    answer = api.call("POST", "/tickets", f"title=x&user_email=c%40x.io&{form}",
                      headers={"content-type": "application/x-www-form-urlencoded"})
    _assert_envelope(answer, 400, form.split("=")[0].split("[")[0])
    assert api.call("GET", "/tickets").body["data"] == {}


def test_the_largest_ticket_the_limits_allow_is_stored(dynamodb_table, clock):
    """The limits are in UTF-8 bytes: 200,000 Cyrillic characters passed a character limit
    and then failed in DynamoDB (500). At every limit at once, the item still fits."""
    from api import deps
    from tests.api.conftest import ApiClient
    from tests.conftest import make_helpdesk

    deps.helpdesk.use(make_helpdesk(dynamodb_table, clock))
    api = ApiClient()
    largest = {"title": "Ж" * 1000, "user_email": "c@x.io", "description": "ж" * 125_000,
               "tags": [f"{n:03d}" + "т" * 97 for n in range(100)],
               "custom_fields": {f"поле{n}": "ж" * 4_900 for n in range(5)}}
    created = api.call("POST", "/tickets", largest)
    assert created.status == 200, created.body
    ticket_id = created.body["data"]["id"]
    reply = api.call("POST", f"/tickets/{ticket_id}/posts", {"text": "ж" * 125_000})
    assert reply.status == 200
    stored = api.call("GET", f"/tickets/{ticket_id}").body["data"]
    assert stored["title"] == largest["title"] and len(stored["tags"]) == 100
    assert stored["custom_fields"] == largest["custom_fields"]
    posts = api.call("GET", f"/tickets/{ticket_id}/posts").body["data"]
    assert [post["text"] for post in posts] == ["ж" * 125_000] * 2
