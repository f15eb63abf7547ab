"""Working-time calendars and SLA policies (our extension of the v2 API):
/api/v2/calendars/... and /api/v2/sla_policies/.... Staff read them; admins manage them.
Department managers (who hear of missed targets) are set with PUT /departments/{id}."""

from __future__ import annotations

from typing import Annotated, Any

from chalice import Blueprint
from pydantic import BaseModel, ConfigDict, Field

from api.deps import current
from api.requests import Query, body_of, paginate, parse, path_id
from api.routing import data, endpoint, viewer
from api.shapes import INT, ISO_WHEN, NUMBER, WHEN, Schema, obj
from api.views import calendar_view, entry_view, policy_view
from helpdesk.dates import format_datetime
from helpdesk.errors import InvalidInput, NotFound
from helpdesk.inputs import Names
from helpdesk.sla.model import MAX_TARGET_MINUTES, CalendarFields, PolicyFields
from helpdesk.sla.worktime import NoWorkingTime

sla = Blueprint(__name__)


class PolicyOrder(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ids: list[int] = Field(min_length=1, max_length=500)


class DepartmentUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # minProperties spelled out: pydantic writes this minimum as "minLength" (strings only).
    name: Annotated[Names, Field(min_length=1,
                                 json_schema_extra={"minProperties": 1})] | None = None
    managers: list[int] | None = Field(default=None, max_length=100)


DUE: Schema = obj({"from": WHEN, "minutes": INT, "due": WHEN, "due_utc": ISO_WHEN})
WORKING_TIME: Schema = obj({"from": WHEN, "to": WHEN, "working_seconds": NUMBER})


def _request() -> Any:
    return sla.current_request


# --- calendars ------------------------------------------------------------------------------
@endpoint(sla, "/calendars", ("GET",))
def list_calendars() -> Any:
    page, pagination = paginate(current().calendars.list(viewer()), Query(_request()))
    return data([calendar_view(c) for c in page], pagination=pagination)


@endpoint(sla, "/calendars", ("POST",))
def create_calendar() -> Any:
    fields = parse(CalendarFields, _request())
    return data(calendar_view(current().calendars.create(viewer(), fields)))


@endpoint(sla, "/calendars/{calendar_id}", ("GET",))
def get_calendar(calendar_id: str) -> Any:
    return data(calendar_view(current().calendars.get(viewer(), path_id(calendar_id,
                                                                          "calendar_id"))))


@endpoint(sla, "/calendars/{calendar_id}", ("PUT",))
def update_calendar(calendar_id: str) -> Any:
    body = body_of(_request())
    calendar = current().calendars.update(viewer(), path_id(calendar_id, "calendar_id"), body)
    return data(calendar_view(calendar))


@endpoint(sla, "/calendars/{calendar_id}", ("DELETE",))
def delete_calendar(calendar_id: str) -> Any:
    number = path_id(calendar_id, "calendar_id")
    current().calendars.delete(viewer(), number)
    return data({"id": number, "deleted": True})


@endpoint(sla, "/calendars/{calendar_id}/due", ("GET",))
def calendar_due(calendar_id: str) -> Any:
    """When N working minutes from an instant end: what an SLA target would say."""
    working = current().calendars.working(viewer(), path_id(calendar_id, "calendar_id"))
    query = Query(_request())
    start = query.moment("from") or current().clock()
    minutes = query.number("minutes")
    if minutes is None or minutes > MAX_TARGET_MINUTES:
        raise InvalidInput(f"minutes: 1..{MAX_TARGET_MINUTES} working minutes are needed",
                           field="minutes")
    from datetime import timedelta

    try:
        due = working.add(start, timedelta(minutes=minutes))
    except (NoWorkingTime, OverflowError):
        raise InvalidInput("no working time that far ahead", field="from") from None
    return data({"from": format_datetime(start), "minutes": minutes,
                 "due": format_datetime(due), "due_utc": due.isoformat()})


@endpoint(sla, "/calendars/{calendar_id}/working_time", ("GET",))
def calendar_working_time(calendar_id: str) -> Any:
    """Working time between two instants (at most a year apart)."""
    working = current().calendars.working(viewer(), path_id(calendar_id, "calendar_id"))
    query = Query(_request())
    start, end = query.moment("from"), query.moment("to")
    if start is None or end is None:
        raise InvalidInput("from and to are needed", field="from" if start is None else "to")
    if (end - start).days > 366:
        raise InvalidInput("from and to may be at most a year apart", field="to")
    try:
        seconds = working.between(start, end).total_seconds()
    except OverflowError:
        raise InvalidInput("from and to must lie within years 1-9999", field="from") from None
    return data({"from": format_datetime(start), "to": format_datetime(end),
                 "working_seconds": seconds})


# --- SLA policies -----------------------------------------------------------------------------
@endpoint(sla, "/sla_policies", ("GET",))
def list_policies() -> Any:
    page, pagination = paginate(current().sla_policies.list(viewer()), Query(_request()))
    return data([policy_view(p) for p in page], pagination=pagination)


@endpoint(sla, "/sla_policies", ("POST",))
def create_policy() -> Any:
    fields = parse(PolicyFields, _request())
    return data(policy_view(current().sla_policies.create(viewer(), fields)))


@endpoint(sla, "/sla_policies/order", ("PUT",))
def reorder_policies() -> Any:
    order = parse(PolicyOrder, _request())
    return data([policy_view(p) for p in current().sla_policies.reorder(viewer(), order.ids)])


@endpoint(sla, "/sla_policies/{policy_id}", ("GET",))
def get_policy(policy_id: str) -> Any:
    return data(policy_view(current().sla_policies.get(viewer(), path_id(policy_id,
                                                                           "policy_id"))))


@endpoint(sla, "/sla_policies/{policy_id}", ("PUT",))
def update_policy(policy_id: str) -> Any:
    body = body_of(_request())
    policy = current().sla_policies.update(viewer(), path_id(policy_id, "policy_id"), body)
    return data(policy_view(policy))


@endpoint(sla, "/sla_policies/{policy_id}", ("DELETE",))
def delete_policy(policy_id: str) -> Any:
    number = path_id(policy_id, "policy_id")
    current().sla_policies.delete(viewer(), number)
    return data({"id": number, "deleted": True})


# --- department managers ----------------------------------------------------------------------
@endpoint(sla, "/departments/{department_id}", ("PUT",))
def update_department(department_id: str) -> Any:
    body = body_of(_request())  # malformed JSON first: a 400
    number = path_id(department_id, "department_id")
    if current().dictionaries.get("departments", number) is None:  # then an unknown one: 404
        raise NotFound(f"department {number} does not exist")
    fields = DepartmentUpdate.model_validate(body)
    entry = current().dictionaries.update_department(viewer(), number, fields.name,
                                                     fields.managers)
    return data(entry_view(entry))
