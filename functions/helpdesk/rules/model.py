"""Rules as admins write them, validated at save time so a bad rule is a 400, not a silent
no-op at 3 a.m."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from helpdesk.errors import InvalidInput
from helpdesk.models import Model, utcnow
from helpdesk.templates import CUSTOM_FIELD_NAME, Template, validate_template

MAX_REGEX = 500


class RuleKind(StrEnum):
    NEW = "new"
    UPDATED = "updated"
    PERIODIC = "periodic"


class Op(StrEnum):
    IS = "is"
    IS_NOT = "is_not"
    IN = "in"
    NOT_IN = "not_in"
    CONTAINS = "contains"
    NOT_CONTAINS = "not_contains"
    REGEX = "regex"
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"
    IS_SET = "is_set"
    NOT_SET = "not_set"
    CHANGED = "changed"


# Fields a condition may test. Prefixed ones take a name: custom_fields.<name>,
# customer.<attribute>, customer.custom_fields.<name>, organization.<attribute>, ...
TICKET_FIELDS = {"channel", "channel_id", "status_id", "priority_id", "department_id",
                 "type_id", "owner_id", "user_id", "tags", "subject", "body", "text",
                 "last_writer", "working_hours", "automatic"}
HOURS_FIELDS = {"hours_since_created", "hours_since_updated", "hours_since_customer_reply",
                "hours_since_staff_reply", "hours_since_status_set"}
PERSON_ATTRIBUTES = {"email", "name", "lastname", "language", "phone", "organization",
                     "organiz_id", "id"}
ORGANIZATION_ATTRIBUTES = {"name", "id", "domains", "email", "phone"}
_PREFIXED = re.compile(
    r"(custom_fields|customer\.custom_fields|organization\.custom_fields)\.(?P<name>.+)")
TEXT_OPS = {Op.CONTAINS, Op.NOT_CONTAINS, Op.REGEX}
NUMBER_OPS = {Op.GT, Op.GTE, Op.LT, Op.LTE}


def check_field(name: str) -> str:
    if name in TICKET_FIELDS or name in HOURS_FIELDS:
        return name
    prefixed = _PREFIXED.fullmatch(name)
    if prefixed and CUSTOM_FIELD_NAME.fullmatch(prefixed["name"]):
        return name
    head, _, attribute = name.partition(".")
    if head == "customer" and attribute in PERSON_ATTRIBUTES:
        return name
    if head == "organization" and attribute in ORGANIZATION_ATTRIBUTES:
        return name
    known = [*sorted(TICKET_FIELDS | HOURS_FIELDS), "custom_fields.<name>",
             "customer.<" + "|".join(sorted(PERSON_ATTRIBUTES)) + ">",
             "customer.custom_fields.<name>",
             "organization.<" + "|".join(sorted(ORGANIZATION_ATTRIBUTES)) + ">",
             "organization.custom_fields.<name>"]
    raise ValueError(f"unknown field {name!r}; known: {', '.join(known)}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Condition(_Strict):
    """`{"field": "subject", "op": "contains", "value": ["invoice", "оплата"]}`;
    `{"field": "status_id", "op": "changed", "from": "open", "to": "closed"}` (updated rules;
    from/to optional); `{"field": "hours_since_updated", "op": "gte", "value": 72}`."""

    field: str
    op: Op
    value: Any = None
    from_: Any = Field(None, alias="from")
    to: Any = None

    @model_validator(mode="after")
    def _consistent(self) -> Condition:
        check_field(self.field)
        if self.field in HOURS_FIELDS and self.op not in NUMBER_OPS:
            raise ValueError(f"{self.field} is compared with gt, gte, lt or lte")
        if self.op in NUMBER_OPS and not isinstance(self.value, int | float):
            raise ValueError(f"{self.op.value} needs a number value")
        if self.op in (Op.IN, Op.NOT_IN) and not isinstance(self.value, list):
            raise ValueError(f"{self.op.value} needs a list value")
        if self.op in TEXT_OPS:
            values = self.value if isinstance(self.value, list) else [self.value]
            if not values or not all(isinstance(v, str) and v for v in values):
                raise ValueError(f"{self.op.value} needs a non-empty text or list of texts")
            if self.op is Op.REGEX:
                for pattern in values:
                    if len(pattern) > MAX_REGEX:
                        raise ValueError(f"regex longer than {MAX_REGEX} characters")
                    try:
                        re.compile(pattern, re.IGNORECASE)
                    except re.error as exc:
                        raise ValueError(f"regex {pattern!r}: {exc}") from None
        if self.op is Op.CHANGED and self.field in HOURS_FIELDS | {"working_hours"}:
            raise ValueError(f"{self.field} does not change by itself; use gt/lt")
        if self.op in (Op.IS, Op.IS_NOT) and self.value is None and self.field != "owner_id":
            raise ValueError(f"{self.op.value} needs a value (is_set/not_set test presence)")
        return self


class ActionType(StrEnum):
    SET_STATUS = "set_status"
    SET_PRIORITY = "set_priority"
    SET_DEPARTMENT = "set_department"
    SET_TYPE = "set_type"
    SET_OWNER = "set_owner"
    ADD_TAGS = "add_tags"
    REMOVE_TAGS = "remove_tags"
    SET_CUSTOM_FIELD = "set_custom_field"
    REPLY = "reply"
    NOTE = "note"
    EMAIL = "email"
    NOTIFY_TELEGRAM = "notify_telegram"
    NOTIFY_SLACK = "notify_slack"
    WEBHOOK = "webhook"
    MARK_SPAM = "mark_spam"
    STOP = "stop"


FIELD_ACTIONS = {ActionType.SET_STATUS, ActionType.SET_PRIORITY, ActionType.SET_DEPARTMENT,
                 ActionType.SET_TYPE, ActionType.SET_OWNER, ActionType.ADD_TAGS,
                 ActionType.REMOVE_TAGS, ActionType.SET_CUSTOM_FIELD, ActionType.MARK_SPAM}
OWNER_STRATEGIES = {"round_robin", "least_loaded"}
EMAIL_TARGETS = {"customer", "owner", "department", "address"}


class Action(_Strict):
    """`value` by type: set_status a status id; set_priority/department/type an id;
    set_owner an agent id, "round_robin" or "least_loaded" (among the active agents of the
    ticket's department after earlier actions) or null; add_tags/remove_tags a list;
    set_custom_field {"name", "value"}; reply {"template_id"}; note {"text"};
    email {"to": customer|owner|department|address, "address"?, "template_id"? |
    "subject"+"text"}; notify_telegram {"channel_id", "chat_id", "text"};
    notify_slack {"url", "text"}; webhook {"subscription_id"}; mark_spam, stop: nothing."""

    type: ActionType
    value: Any = None

    @model_validator(mode="after")
    def _value_fits(self) -> Action:
        kind, value = self.type, self.value
        if kind in (ActionType.SET_PRIORITY, ActionType.SET_DEPARTMENT, ActionType.SET_TYPE):
            _require(isinstance(value, int) and not isinstance(value, bool), kind, "an id")
        elif kind is ActionType.SET_STATUS:
            _require(isinstance(value, str) and value, kind, "a status id")
        elif kind is ActionType.SET_OWNER:
            _require(value is None or (isinstance(value, str) and value in OWNER_STRATEGIES) or (
                isinstance(value, int) and not isinstance(value, bool)), kind,
                "an agent id, 'round_robin', 'least_loaded' or null")
        elif kind in (ActionType.ADD_TAGS, ActionType.REMOVE_TAGS):
            _require(isinstance(value, list) and value and all(
                isinstance(t, str) and 0 < len(t) <= 100 for t in value), kind,
                "a non-empty list of tags")
        elif kind is ActionType.SET_CUSTOM_FIELD:
            _require(isinstance(value, dict) and set(value) == {"name", "value"} and isinstance(
                value["name"], str) and CUSTOM_FIELD_NAME.fullmatch(value["name"]), kind,
                '{"name": ..., "value": ...}')
        elif kind is ActionType.REPLY:
            _require(_keys(value, {"template_id"}) and isinstance(value["template_id"], int),
                     kind, '{"template_id": <id>}')
        elif kind is ActionType.NOTE:
            _require(_keys(value, {"text"}) and isinstance(value["text"], str)
                     and value["text"].strip(), kind, '{"text": "..."}')
            _check_text(value["text"], "note")
        elif kind is ActionType.EMAIL:
            self._check_email(value)
        elif kind is ActionType.NOTIFY_TELEGRAM:
            _require(_keys(value, {"channel_id", "chat_id", "text"})
                     and isinstance(value["channel_id"], int)
                     and str(value["chat_id"]).strip(), kind,
                     '{"channel_id": <telegram channel>, "chat_id": ..., "text": ...}')
            _check_text(value["text"], "text")
        elif kind is ActionType.NOTIFY_SLACK:
            _require(_keys(value, {"url", "text"}) and isinstance(value["url"], str)
                     and value["url"].startswith(("https://", "http://")), kind,
                     '{"url": <incoming webhook URL>, "text": ...}')
            _check_text(value["text"], "text")
        elif kind is ActionType.WEBHOOK:
            _require(_keys(value, {"subscription_id"})
                     and isinstance(value["subscription_id"], int), kind,
                     '{"subscription_id": <id>}')
        else:  # mark_spam, stop
            _require(value is None, kind, "no value")
        return self

    def _check_email(self, value: Any) -> None:
        shape = '{"to": customer|owner|department|address, "address"?, "template_id"? or ' \
                '"subject" and "text"}'
        _require(isinstance(value, dict) and isinstance(value.get("to"), str)
                 and value["to"] in EMAIL_TARGETS, self.type, shape)
        allowed = {"to", "address", "template_id", "subject", "text"}
        _require(set(value) <= allowed, self.type, shape)
        if value["to"] == "address":
            _require("@" in str(value.get("address", "")), self.type, shape)
        if "template_id" in value:
            _require(isinstance(value["template_id"], int) and "text" not in value,
                     self.type, shape)
        else:
            _require(isinstance(value.get("text"), str) and value["text"].strip(),
                     self.type, shape)
            _check_text(value["text"], "text")
            _check_text(str(value.get("subject", "")), "subject")


def _keys(value: Any, wanted: set[str]) -> bool:
    return isinstance(value, dict) and set(value) == wanted


def _require(ok: Any, kind: ActionType, what: str) -> None:
    if not ok:
        raise ValueError(f"{kind.value} takes {what}")


def _check_text(text: str, where: str) -> None:
    """Placeholders in a rule's own texts follow the template rules (checked at save time)."""
    if not text:
        return
    try:
        validate_template(Template(id=0, name="rule text", texts={"en": text}))
    except InvalidInput as refused:
        raise ValueError(f"{where}: {str(refused).removeprefix('texts.en: ')}") from None


Conditions = Annotated[list[Condition], Field(max_length=50)]


class RuleFields(_Strict):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    kind: RuleKind
    enabled: bool = True
    all: Conditions = Field(default_factory=list)
    any: Conditions = Field(default_factory=list)
    actions: Annotated[list[Action], Field(min_length=1, max_length=30)]


class RuleUpdate(_Strict):
    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    enabled: bool | None = None
    all: Conditions | None = None
    any: Conditions | None = None
    actions: Annotated[list[Action], Field(min_length=1, max_length=30)] | None = None


class Rule(Model):
    id: int
    name: str
    kind: RuleKind
    position: int  # order among the rules of its kind (1 runs first)
    enabled: bool = True
    all: list[Condition] = Field(default_factory=list)
    any: list[Condition] = Field(default_factory=list)
    actions: list[Action] = Field(default_factory=list)
    date_created: datetime = Field(default_factory=utcnow)
    date_updated: datetime = Field(default_factory=utcnow)
    version: int = 0

    def public(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)
