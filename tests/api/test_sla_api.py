"""/calendars, /sla_policies and the SLA block of tickets through the API handler."""

from __future__ import annotations

import pytest

from helpdesk.inputs import UserCreate
from tests.conftest import ADMIN_EMAIL

OFFICE = {"name": "Berlin office", "timezone": "Europe/Berlin",
          "hours": [{"day": d, "start": "09:00", "end": "13:00"} for d in
                    ("mon", "tue", "wed", "thu", "fri")]
          + [{"day": d, "start": "14:00", "end": "18:00"} for d in
             ("mon", "tue", "wed", "thu", "fri")],
          "holiday_country": "de", "holidays": [{"yearly": "12-31", "name": "New Year's Eve"}]}


def _error(answer, status: int = 400) -> str:
    """The details; 400 for malformed input, 422 for input naming what does not exist."""
    assert answer.status == status, answer.body
    return " ".join(e["details"] for e in answer.body["errors"])


def test_an_admin_sets_a_calendar_and_asks_it_when_an_hour_of_work_ends(api):
    created = api.call("POST", "/calendars", OFFICE)
    assert created.status == 200, created.body
    calendar = created.body["data"]
    assert calendar["holiday_country"] == "DE" and calendar["scope"] == "global"
    # Friday 17:30 Berlin + 60 working minutes: 30 on Friday, 30 on Monday morning.
    due = api.call("GET", f"/calendars/{calendar['id']}/due?from=2026-11-27T17:30:00%2B01:00"
                          "&minutes=60").body["data"]
    assert due["due_utc"] == "2026-11-30T08:30:00+00:00"
    # Lunch break: 12:30 + 60 -> 14:30.
    lunch = api.call("GET", f"/calendars/{calendar['id']}/due?from=2026-11-30T12:30:00%2B01:00"
                            "&minutes=60").body["data"]
    assert lunch["due_utc"] == "2026-11-30T13:30:00+00:00"
    day = api.call("GET", f"/calendars/{calendar['id']}/working_time"
                          "?from=2026-11-30T00:00:00Z&to=2026-12-01T00:00:00Z").body["data"]
    assert day["working_seconds"] == 8 * 3600
    christmas = api.call("GET", f"/calendars/{calendar['id']}/working_time"
                                "?from=2026-12-24T00:00:00Z&to=2027-01-02T00:00:00Z").body["data"]
    # 24th, 28th-30th work; 25th/26th public holidays, 31st their own, 1 Jan public.
    assert christmas["working_seconds"] == 4 * 8 * 3600


@pytest.mark.parametrize(("change", "named"), [
    ({"timezone": "Mars/Olympus"}, "Mars/Olympus"),
    ({"holiday_country": "XX"}, "XX"),
    ({"hours": []}, "working hours"),
    ({"hours": [{"day": "mon", "start": "9am", "end": "17:00"}]}, "9am"),
    ({"hours": [{"day": "mon", "start": "09:00", "end": "09:00"}]}, "empty"),
    ({"holidays": [{"name": "no date"}]}, "either date"),
    ({"scope": "department"}, "department_id"),
    ({"colour": "green"}, "colour"),
    ({"holidays": [{"yearly": f"{m:02d}-{d:02d}"} for m in range(1, 13) for d in range(1, 32)
                   if (m, d) not in ((2, 30), (2, 31), (4, 31), (6, 31), (9, 31), (11, 31))]},
     "no working time"),
])
def test_a_bad_calendar_is_a_400_naming_the_problem(api, change, named):
    assert named in _error(api.call("POST", "/calendars", OFFICE | change))
    assert api.call("GET", "/calendars").body["data"] == []


def test_one_calendar_per_scope_and_a_night_shift_department(api):
    assert api.call("POST", "/calendars", OFFICE).status == 200
    again = api.call("POST", "/calendars", OFFICE | {"name": "Second"})
    assert again.status == 409 and "global" in again.body["errors"][0]["details"]
    night = api.call("POST", "/calendars", {
        "name": "Night desk", "scope": "department", "department_id": 1,
        "timezone": "Europe/Moscow",
        "hours": [{"day": d, "start": "21:00", "end": "02:00"} for d in
                  ("mon", "tue", "wed", "thu", "fri")]})
    assert night.status == 200, night.body
    night_id = night.body["data"]["id"]
    # Monday 23:00 Moscow + 4 h: 3 h to 02:00, then Tuesday 21:00 + 1 h.
    due = api.call("GET", f"/calendars/{night_id}/due?from=2026-11-30T23:00:00%2B03:00"
                          "&minutes=240").body["data"]
    assert due["due_utc"] == "2026-12-01T19:00:00+00:00"
    changed = api.call("PUT", f"/calendars/{night_id}", {"always_open": True})
    assert changed.status == 200 and changed.body["data"]["version"] == 2


def test_policies_are_tried_in_order_and_a_ticket_shows_its_timers(api, helpdesk):
    api.call("POST", "/calendars", OFFICE)
    low = api.call("POST", "/sla_policies", {"name": "Low", "priority_ids": [1, 2],
                                              "first_reply_minutes": 60,
                                              "resolution_minutes": 120})
    critical = api.call("POST", "/sla_policies", {"name": "Critical", "priority_ids": [4],
                                                   "first_reply_minutes": 15,
                                                   "resolution_minutes": 60})
    assert low.status == critical.status == 200
    ticket = api.call("POST", "/tickets", {"title": "Down", "user_email": "c@x.io",
                                           "priority_id": 4}).body["data"]
    assert ticket["sla"]["policy_id"] == critical.body["data"]["id"]
    assert ticket["sla"]["first_reply_due"] and ticket["sla"]["state"] in ("green", "orange")
    moved = api.call("PUT", f"/tickets/{ticket['id']}",
                     {"sla_policy_id": low.body["data"]["id"]}).body["data"]
    assert moved["sla_policy_id"] == low.body["data"]["id"]
    assert moved["sla"]["policy_id"] == low.body["data"]["id"]
    order = api.call("PUT", "/sla_policies/order", {"ids": [critical.body["data"]["id"],
                                                            low.body["data"]["id"]]})
    assert [p["name"] for p in order.body["data"]] == ["Critical", "Low"]
    unknown = api.call("PUT", f"/tickets/{ticket['id']}", {"sla_policy_id": 999})
    assert "SLA policy 999" in _error(unknown, 422)


@pytest.mark.parametrize(("body", "named", "status"), [
    ({"name": "x"}, "first_reply_minutes", 400),
    ({"name": "x", "first_reply_minutes": 0}, "first_reply_minutes", 400),
    ({"name": "x", "first_reply_minutes": 5, "priority_ids": [99]}, "priority_ids", 422),
    ({"name": "x", "first_reply_minutes": 5, "calendar_id": 7}, "calendar 7", 422),
    ({"name": "x", "first_reply_minutes": 5, "escalation": {"notify": [999]}}, "999", 422),
    ({"name": "x", "first_reply_minutes": 5,
      "escalation": {"telegram": {"channel_id": 84, "chat_id": "-100"}}}, "channel 84", 422),
    ({"name": "x", "first_reply_minutes": 5, "escalation": {"slack_url": "ftp://x"}},
     "slack_url", 400),
    ({"name": "x", "first_reply_minutes": 5, "escalation": {"warn_at_percent": 100}},
     "warn_at_percent", 400),
])
def test_a_bad_policy_is_refused_naming_the_problem(api, body, named, status):
    assert named in _error(api.call("POST", "/sla_policies", body), status)


def test_only_admins_manage_and_staff_read(api, helpdesk):
    admin = helpdesk.users.authenticate(ADMIN_EMAIL, "admin-secret-key")
    _, key = helpdesk.users.create(admin, UserCreate(name="Agent", email="agent@x.io",
                                                     group_id=2, department=[1]))
    agent = api.as_user("agent@x.io", key)
    refused = agent.call("POST", "/calendars", OFFICE)
    assert refused.status == 403 and "administrator" in refused.body["errors"][0]["details"]
    assert agent.call("GET", "/sla_policies").status == 200
    assert agent.call("PUT", "/departments/1", {"managers": []}).status == 403


def test_department_managers_must_be_staff(api):
    customer = api.call("POST", "/users", {"name": "C", "email": "cust@x.io",
                                           "group_id": 3}).body["data"]
    assert "managers" in _error(api.call("PUT", "/departments/1",
                                         {"managers": [customer["id"]]}), 422)
    named = api.call("PUT", "/departments/1", {"managers": [1]}).body["data"]
    assert named["managers"] == [1]


def test_a_preview_past_the_calendar_years_is_a_400(api):
    calendar = api.call("POST", "/calendars", OFFICE).body["data"]
    late = api.call("GET", f"/calendars/{calendar['id']}/due?from=9999-12-31T00:00:00Z"
                           "&minutes=600")
    assert "far ahead" in _error(late)
