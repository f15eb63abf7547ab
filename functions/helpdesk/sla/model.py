"""SLA configuration (calendars, policies) and the SLA state a ticket carries.

Calendars and policies are admin-edited items; `CalendarFields` / `PolicyFields` are what the
API accepts (unknown fields refused, so a typo is a 400 naming it)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from datetime import date as Day
from enum import StrEnum
from functools import cache
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")
MAX_TARGET_MINUTES = 366 * 24 * 60


def utcnow() -> datetime:
    return datetime.now(UTC)


class Model(BaseModel):
    """Stored state (helpdesk.models imports this module, so it has its own base)."""

    model_config = ConfigDict(validate_assignment=True)


class Fields(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def minutes_of(text: str) -> int:
    """'09:30' -> 570; '24:00' -> 1440 (an end of day)."""
    found = _CLOCK.match(text)
    if not found or (found.group(1) == "24" and found.group(2) != "00"):
        raise ValueError(f"{text!r} is not a time of day such as '09:00' (00:00-24:00)")
    return int(found.group(1)) * 60 + int(found.group(2))


class WeeklyHours(Fields):
    """One working interval of a weekday in the calendar's local time. An end at or before
    the start runs past midnight (a 21:00-02:00 night shift belongs to the day it starts)."""

    day: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    start: str
    end: str

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, value: str) -> str:
        minutes_of(value)
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> WeeklyHours:
        start, end = minutes_of(self.start), minutes_of(self.end)
        if start == 1440:
            raise ValueError("start: 24:00 is the end of a day; start the interval at 00:00")
        if start == end:
            raise ValueError(f"{self.day} {self.start}-{self.end} is empty: start and end "
                             "must differ")
        if end < start and end == 1440:
            raise ValueError("an interval past midnight cannot end at 24:00")
        return self


class Holiday(Fields):
    """A day off: one `date` (2026-12-31) or a `yearly` one (12-31, every year)."""

    date: Day | None = None  # `Day`: the field's name hides the type
    yearly: Annotated[str | None, Field(pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")] = None
    name: str = Field(default="", max_length=200)

    @model_validator(mode="after")
    def _one_kind(self) -> Holiday:
        if (self.date is None) == (self.yearly is None):
            raise ValueError("a holiday has either date (YYYY-MM-DD) or yearly (MM-DD)")
        return self


class Scope(StrEnum):
    GLOBAL = "global"
    DEPARTMENT = "department"
    AGENT = "agent"


@cache
def known_countries() -> frozenset[str]:
    import holidays

    return frozenset(holidays.list_supported_countries())


def valid_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not an IANA time zone such as 'Europe/Berlin'") from None
    return name


class CalendarFields(Fields):
    name: str = Field(min_length=1, max_length=200)
    scope: Scope = Scope.GLOBAL
    department_id: int | None = Field(default=None, ge=1)
    agent_id: int | None = Field(default=None, ge=1)
    timezone: str = "UTC"
    always_open: bool = False  # 24/7 (holidays still apply)
    hours: list[WeeklyHours] = Field(default_factory=list, max_length=100)
    holidays: list[Holiday] = Field(default_factory=list, max_length=1000)
    holiday_country: str | None = Field(default=None, max_length=3)  # ISO code: DE, RU, US
    holiday_subdivision: str | None = Field(default=None, max_length=10)  # e.g. BY for DE

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return valid_timezone(value)

    @field_validator("holiday_country")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.upper()
        if value not in known_countries():
            raise ValueError(f"{value!r} is not a country the holidays package knows "
                             "(ISO 3166 code such as 'DE', 'RU', 'US')")
        return value

    @model_validator(mode="after")
    def _coherent(self) -> CalendarFields:
        if not self.always_open and not self.hours:
            raise ValueError("a calendar needs working hours, or always_open for 24/7")
        if self.scope is Scope.DEPARTMENT and self.department_id is None:
            raise ValueError("a department calendar names its department_id")
        if self.scope is Scope.AGENT and self.agent_id is None:
            raise ValueError("an agent calendar names its agent_id")
        if self.scope is not Scope.DEPARTMENT and self.department_id is not None:
            raise ValueError("department_id belongs to a department calendar")
        if self.scope is not Scope.AGENT and self.agent_id is not None:
            raise ValueError("agent_id belongs to an agent calendar")
        if self.holiday_subdivision and not self.holiday_country:
            raise ValueError("holiday_subdivision needs holiday_country")
        if self.holiday_country and self.holiday_subdivision:
            import holidays

            known = holidays.list_supported_countries()[self.holiday_country]
            if self.holiday_subdivision.upper() not in known:
                raise ValueError(f"{self.holiday_subdivision!r} is not a subdivision of "
                                 f"{self.holiday_country}: {', '.join(known)}")
            self.holiday_subdivision = self.holiday_subdivision.upper()
        return self


class Calendar(CalendarFields):
    model_config = ConfigDict(extra="ignore")

    id: int
    version: int = 1
    date_created: datetime = Field(default_factory=utcnow)
    date_updated: datetime = Field(default_factory=utcnow)


class Escalation(Fields):
    """Who hears of a missed target, and what else happens to the ticket."""

    # "department": every active agent of the ticket's department.
    notify: list[Literal["assignee", "department_managers", "department"]
                 | Annotated[int, Field(ge=1)]] = \
        Field(default_factory=lambda: ["assignee", "department_managers"],  # type: ignore[arg-type]
              max_length=50)
    telegram: dict[str, Any] | None = Field(default=None, json_schema_extra={
        "required": ["channel_id", "chat_id"], "additionalProperties": False,
        "properties": {"channel_id": {"type": "integer"}, "chat_id": {"not": {
            "type": "string", "pattern": r"^\s*$"}}}})  # our Telegram bot; chat_id not blank
    slack_url: str | None = Field(default=None, max_length=2000,
                                  json_schema_extra={"pattern": "^https?://"})
    raise_priority_to: int | None = Field(default=None, ge=1)
    hold_until_working_hours: bool = False  # nobody is paged at midnight
    warn_at_percent: int | None = Field(default=80, ge=1, le=99)  # None: no warning notice

    @field_validator("telegram")
    @classmethod
    def _telegram(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        channel_id = value.get("channel_id")
        # 3.0 is an integer to JSON (and the schema); True is not.
        if isinstance(channel_id, float) and channel_id.is_integer():
            channel_id = int(channel_id)
        if set(value) != {"channel_id", "chat_id"} or not isinstance(channel_id, int) \
                or isinstance(channel_id, bool) or not str(value["chat_id"]).strip():
            raise ValueError('telegram is {"channel_id": <Telegram channel id>, "chat_id": ...}')
        return {"channel_id": channel_id, "chat_id": str(value["chat_id"]).strip()}

    @field_validator("slack_url")
    @classmethod
    def _slack(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("slack_url is the incoming-webhook URL (https://hooks.slack.com/...)")
        return value


Minutes = Annotated[int, Field(ge=1, le=MAX_TARGET_MINUTES)]


class PolicyFields(Fields):
    # _has_target, for the OpenAPI document.
    model_config = ConfigDict(json_schema_extra={"anyOf": [
        {"required": [name], "properties": {name: {"type": "integer"}}}
        for name in ("first_reply_minutes", "resolution_minutes")]})

    name: str = Field(min_length=1, max_length=200)
    enabled: bool = True
    # Which tickets: every list that is not empty must contain the ticket's value.
    priority_ids: list[Annotated[int, Field(ge=1)]] = Field(default_factory=list)
    department_ids: list[Annotated[int, Field(ge=1)]] = Field(default_factory=list)
    organization_ids: list[Annotated[int, Field(ge=1)]] = Field(default_factory=list)
    first_reply_minutes: Minutes | None = None
    resolution_minutes: Minutes | None = None
    business_hours: bool = True  # count working time of the calendar, else calendar time
    calendar_id: int | None = Field(default=None, ge=1)  # else the department's, the global
    escalation: Escalation = Field(default_factory=Escalation)

    @model_validator(mode="after")
    def _has_target(self) -> PolicyFields:
        if self.first_reply_minutes is None and self.resolution_minutes is None:
            raise ValueError("a policy needs first_reply_minutes, resolution_minutes or both")
        return self


class Policy(PolicyFields):
    model_config = ConfigDict(extra="ignore")

    id: int
    position: int = 1
    version: int = 1
    date_created: datetime = Field(default_factory=utcnow)
    date_updated: datetime = Field(default_factory=utcnow)

    def applies_to(self, priority_id: int | None, department_id: int | None,
                   organization_id: int | None) -> bool:
        return self.enabled and all(
            not wanted or actual in wanted
            for wanted, actual in ((self.priority_ids, priority_id),
                                   (self.department_ids, department_id),
                                   (self.organization_ids, organization_id)))


# --- the state a ticket carries ----------------------------------------------------------
class Target(StrEnum):
    FIRST_REPLY = "first_reply"
    RESOLUTION = "resolution"


class Stage(StrEnum):
    WARNING = "warning"
    BREACH = "breach"


class Pause(Model):
    start: datetime
    end: datetime


class TargetState(Model):
    """One target's timer. `due` is None while the clock is stopped (paused, met)."""

    minutes: int | None = None  # the policy's target (None with an explicit sla_date)
    due: datetime | None = None
    warn_at: datetime | None = None
    left_seconds: float | None = None  # frozen while paused; in the clock's own measure
    warned: bool = False
    breached: bool = False
    breached_at: datetime | None = None
    met_at: datetime | None = None


class Figures(Model):
    """Durations for reports: working (the ticket's calendar) and calendar time, both with
    the paused time (waiting for the customer, on hold, closed) left out."""

    first_reply_at: datetime | None = None
    first_reply_calendar_seconds: float | None = None
    first_reply_working_seconds: float | None = None
    resolved_at: datetime | None = None
    resolution_calendar_seconds: float | None = None
    resolution_working_seconds: float | None = None


class TicketSla(Model):
    policy_id: int | None = None
    policy_version: int | None = None
    calendar_id: int | None = None
    calendar_version: int | None = None
    business_hours: bool = False
    version: int = 0  # goes up whenever a due time moves: names the escalation runs
    started_at: datetime | None = None  # the clock's start: creation, or the first write
    #                                     of a ticket older than SLA tracking
    paused_since: datetime | None = None
    pauses: list[Pause] = Field(default_factory=list)
    first_reply: TargetState = Field(default_factory=TargetState)
    resolution: TargetState = Field(default_factory=TargetState)
    figures: Figures = Field(default_factory=Figures)
    next_check: datetime | None = None  # the earliest warning or due instant still ahead
    next_check_kind: str | None = None  # "<target>.<stage>"

    def next_due(self) -> datetime | None:
        """The earliest due time of a target not met yet (None: no clock runs)."""
        dues = [t.due for t in (self.first_reply, self.resolution)
                if t.met_at is None and t.due is not None]
        return min(dues) if dues else None

    def target(self, which: Target) -> TargetState:
        return self.first_reply if which is Target.FIRST_REPLY else self.resolution
