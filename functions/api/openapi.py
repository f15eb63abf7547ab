"""The OpenAPI 3.1 description of /api/v2, served at /api/v2/openapi.json.

Built from the Chalice route table, the pydantic input models (as their validators read
input) and the answers' schemas kept beside the views; `DOCS` also holds each operation's
body limit, which api/app.py enforces. Tests check that every route is described here and
(tests/api/test_fuzz.py, schemathesis) that the API answers as described."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue, models_json_schema
from pydantic_core import core_schema

from api import shapes, views
from api.routes import automation, channels, dictionaries, public, sla, subscriptions
from api.routes.automation import RuleOrder, TemplateApply
from api.routes.public import PUBLIC_PATHS
from api.routes.sla import DepartmentUpdate, PolicyOrder
from api.shapes import BOOL, INT, STR, FromModel, Schema, array, mapping, nullable, obj, ref
from helpdesk import inputs
from helpdesk.channels.model import ChannelCreate, ChannelUpdate
from helpdesk.channels.telephony import CallEvent
from helpdesk.channels.web import FormSubmission, VisitorMessage, VisitorStart
from helpdesk.inputs import NOT_BLANK
from helpdesk.rules.model import RuleFields, RuleKind, RuleUpdate
from helpdesk.sla.model import MAX_TARGET_MINUTES, CalendarFields, PolicyFields
from helpdesk.subscriptions.model import SubscriptionCreate, SubscriptionUpdate
from helpdesk.templates import MAX_TEXT as TEMPLATE_TEXT
from helpdesk.templates import TemplateAction, TemplateScope

LANGUAGE_KEY = r"^\s*[a-zA-Z]{2,3}(?:[-_][a-zA-Z0-9]{2,8})?\s*$"


class TemplateInput(BaseModel):
    """A template as the API takes it: the limits of `Template`, which checks it again with
    its placeholders when saved (a text that is not a valid template is a 400 then)."""

    model_config = ConfigDict(extra="forbid")  # TemplateService refuses unknown fields

    name: Annotated[str, Field(min_length=1, max_length=200)]
    category: Annotated[str, Field(max_length=100)] = ""
    scope: TemplateScope | None = None
    actions: Annotated[list[TemplateAction], Field(max_length=50)] = []
    # Codes such as "en" or "pt-br" (any case, "_" for "-").
    texts: Annotated[dict[Annotated[str, Field(pattern=LANGUAGE_KEY)],
                          Annotated[str, Field(max_length=TEMPLATE_TEXT)]],
                     Field(min_length=1, json_schema_extra={"additionalProperties": False})]


PREFIX = "/api/v2"
# Query parameters as api/requests.py:Query reads them (a blank one counts as not given).
ID_Q: Schema = {"type": "integer", "minimum": 1}
TEXT_Q: Schema = {"type": "string"}
FLAG_Q: Schema = {"type": "boolean"}  # also 1/0, yes/no
WHEN_Q: Schema = {"type": "string", "format": "date-time"}  # or "DD.MM.YYYY HH:MM:SS"
TICKET_FILTERS = {
    "status_id": TEXT_Q, "priority_id": ID_Q, "type_id": ID_Q, "department_id": ID_Q,
    "user_id": ID_Q, "owner_id": ID_Q, "created_from": WHEN_Q, "created_to": WHEN_Q,
    "updated_from": WHEN_Q, "updated_to": WHEN_Q, "search": TEXT_Q, "trash": FLAG_Q,
}
USER_FILTERS = {"group_id": ID_Q, "department_id": ID_Q,
                "status": {"enum": ["active", "disabled"]}, "user_status": ID_Q,
                "organization_id": ID_Q, "search": TEXT_Q}
ORGANIZATION_FILTERS = {"manager_id": ID_Q, "employee_id": ID_Q, "search": TEXT_Q}
PAGED = {"page": ID_Q, "per_page": ID_Q}
TICKET_PAGING = {"page": {"type": "integer", "minimum": 1, "maximum": 10_000},
                 "cursor": TEXT_Q, "queue": TEXT_Q,
                 "sort": {"enum": ["updated", "created", "sla_due", "priority"]},
                 "order": {"enum": ["desc", "asc"]}}
BLANK: Schema = {"type": "string", "maxLength": 0}  # an optional parameter left blank
# The token POST /chat/visitor/id gave.
CHAT_SESSION: dict[str, Schema] = {"X-Chat-Session": {"type": "string", "minLength": 1}}

# The largest body each operation takes (x-max-body-bytes; api/app.py answers 413 past it),
# from the field limits (helpdesk/inputs.py) as ASCII-only JSON writes them: a non-Latin
# character escaped as \uXXXX takes 3 times its UTF-8 bytes (a form post as much).
KIB = 1024
SMALL_BODY = 64 * KIB  # ids, names, settings; and what a bodiless operation may carry
# A ticket or message: 3 x (250 KB text + 50 KB custom fields) + title, tags, addresses.
TEXT_BODY = 1536 * KIB
# Custom fields or localized names (50 KB) x 3, the rest small; a form's 20,000-char text.
RECORD_BODY = 256 * KIB
# Calendars: up to 1,000 named holidays. Templates: a 20,000-character text per language.
LIST_BODY = 1024 * KIB


@dataclass(frozen=True)
class Doc:
    summary: str
    body: type[BaseModel] | None = None
    query: dict[str, Schema] = field(default_factory=dict)
    needs: tuple[str, ...] = ()  # required query parameters
    answer: Schema = field(default_factory=dict)  # what `data` holds
    paged: bool = False  # `data` is one page; `pagination` says which
    max_body: int = SMALL_BODY
    headers: dict[str, Schema] = field(default_factory=dict)  # required request headers


def _dictionaries() -> dict[tuple[str, str], Doc]:
    docs = {}
    for kind in ("departments", "statuses", "priorities", "types", "groups", "user_statuses"):
        docs[("GET", f"/{kind}")] = Doc(f"List {kind.replace('_', ' ')}", answer=array(ENTRY))
        docs[("POST", f"/{kind}")] = Doc(f"Add to {kind.replace('_', ' ')} (admins)",
                                         dictionaries.input_of(kind), answer=ENTRY,
                                         max_body=RECORD_BODY)
    return docs


def _messages(kind: str, body: type[BaseModel]) -> dict[tuple[str, str], Doc]:
    base = f"/tickets/{{ticket_id}}/{kind}s"
    return {
        ("GET", base): Doc(f"List a ticket's {kind}s", query=PAGED,
                           answer=array(MESSAGE), paged=True),
        ("POST", base): Doc(f"Add a {kind}", inputs.MessageCreate, answer=MESSAGE,
                            max_body=TEXT_BODY),
        ("PUT", base + "/{message_id}"): Doc(f"Edit a {kind}", body, answer=MESSAGE,
                                             max_body=TEXT_BODY),
        ("DELETE", base + "/{message_id}"): Doc(f"Delete a {kind}", answer=DELETED),
    }


# Objects in answers, as components (views and their schemas: api/views.py, api/routes/*).
TICKET, MESSAGE, USER, AUDIT_ROW, ENTRY, ORGANIZATION, CHANNEL, SUBSCRIPTION, DEAD_LETTER, \
    RULE, TEMPLATE, CALENDAR, POLICY, CHAT_LINE, DELETED = (
        ref(name) for name in ("Ticket", "Message", "User", "AuditRow", "Entry",
                               "Organization", "Channel", "Subscription", "DeadLetter", "Rule",
                               "Template", "Calendar", "Policy", "ChatLine", "Deleted"))
SHAPES: dict[str, Schema | FromModel] = {
    "Ticket": views.TICKET, "Message": views.MESSAGE, "User": views.USER,
    "AuditRow": views.AUDIT_ROW, "Entry": views.ENTRY, "Organization": views.ORGANIZATION,
    "Channel": channels.CHANNEL, "Subscription": subscriptions.SUBSCRIPTION,
    "DeadLetter": subscriptions.DEAD_LETTER, "Rule": automation.RULE,
    "Template": automation.TEMPLATE, "Calendar": views.CALENDAR, "Policy": views.POLICY,
    "ChatLine": public.CHAT_LINE, "Deleted": shapes.DELETED,
}

DOCS: dict[tuple[str, str], Doc] = {
    ("GET", "/tickets"): Doc("List tickets (data keyed by id): one queue's page; see docs/api.md",
                             query=TICKET_FILTERS | PAGED | TICKET_PAGING,
                             answer=mapping(TICKET), paged=True),
    ("GET", "/tickets/queues"): Doc("The viewer's queues with their counts (staff)",
                                    answer=array(obj({"queue": STR, "name": STR,
                                                      "count": INT}))),
    ("POST", "/tickets"): Doc("Create a ticket", inputs.TicketCreate, answer=TICKET,
                              max_body=TEXT_BODY),
    ("GET", "/tickets/{ticket_id}"): Doc("Get a ticket", answer=TICKET),
    ("PUT", "/tickets/{ticket_id}"): Doc("Change a ticket", inputs.TicketUpdate, answer=TICKET,
                                         max_body=TEXT_BODY),
    ("DELETE", "/tickets/{ticket_id}"): Doc("Move to the trash, or erase with delete=true",
                                            query={"delete": FLAG_Q}, answer=DELETED),
    ("POST", "/tickets/{ticket_id}/restore"): Doc("Restore a ticket from the trash",
                                                  answer=TICKET),
    ("GET", "/tickets/{ticket_id}/audit"): Doc("The ticket's audit trail (paged by event)",
                                               query=PAGED, answer=array(AUDIT_ROW),
                                               paged=True),
    ("GET", "/tickets/{ticket_id}/files/{file_id}"): Doc("Download a file (302 to a link)"),
    **_messages("post", inputs.MessageUpdate),
    **_messages("comment", inputs.MessageUpdate),
    ("GET", "/users"): Doc("List users", query=USER_FILTERS | PAGED, answer=array(USER),
                           paged=True),
    ("POST", "/users"): Doc("Create a user (staff get their API key once)", inputs.UserCreate,
                            answer=USER, max_body=RECORD_BODY),
    ("GET", "/users/{user_id}"): Doc("Get a user", answer=USER),
    ("PUT", "/users/{user_id}"): Doc("Change a user", inputs.UserUpdate, answer=USER,
                                     max_body=RECORD_BODY),
    ("DELETE", "/users/{user_id}"): Doc("Delete a user", answer=DELETED),
    ("POST", "/users/{user_id}/api_key"): Doc("Issue a new API key (shown once)",
                                              answer=obj({"id": INT, "api_key": STR})),
    ("GET", "/organizations"): Doc("List organizations", query=ORGANIZATION_FILTERS | PAGED,
                                   answer=array(ORGANIZATION), paged=True),
    ("POST", "/organizations"): Doc("Create an organization", inputs.OrganizationCreate,
                                    answer=ORGANIZATION, max_body=RECORD_BODY),
    ("GET", "/organizations/{organization_id}"): Doc("Get an organization",
                                                     answer=ORGANIZATION),
    ("PUT", "/organizations/{organization_id}"): Doc(
        "Change an organization", inputs.OrganizationUpdate, answer=ORGANIZATION,
        max_body=RECORD_BODY),
    ("DELETE", "/organizations/{organization_id}"): Doc("Delete an organization (admins)",
                                                        answer=DELETED),
    ("GET", "/channels"): Doc("List channels (admins)", query=PAGED, answer=array(CHANNEL),
                              paged=True),
    ("POST", "/channels"): Doc("Connect a channel; generated secrets are shown once",
                               ChannelCreate, answer=CHANNEL),
    ("GET", "/channels/{channel_id}"): Doc("Get a channel (secrets masked)", answer=CHANNEL),
    ("PUT", "/channels/{channel_id}"): Doc("Change a channel", ChannelUpdate, answer=CHANNEL),
    ("DELETE", "/channels/{channel_id}"): Doc("Disable a channel", answer=CHANNEL),
    ("GET", "/webhook_subscriptions"): Doc("List outbound webhook subscriptions (admins)",
                                           query=PAGED, answer=array(SUBSCRIPTION),
                                           paged=True),
    ("POST", "/webhook_subscriptions"): Doc("Subscribe a URL to ticket events; the signing "
                                            "secret is shown once", SubscriptionCreate,
                                            answer=SUBSCRIPTION),
    ("GET", "/webhook_subscriptions/{subscription_id}"): Doc("Get a subscription",
                                                             answer=SUBSCRIPTION),
    ("PUT", "/webhook_subscriptions/{subscription_id}"): Doc(
        "Change a subscription", SubscriptionUpdate, answer=SUBSCRIPTION),
    ("DELETE", "/webhook_subscriptions/{subscription_id}"): Doc("Delete a subscription",
                                                                answer=DELETED),
    ("GET", "/webhook_subscriptions/{subscription_id}/dead_letters"): Doc(
        "Deliveries that failed for good in the last 30 days, newest first", query=PAGED,
        answer=array(DEAD_LETTER), paged=True),
    ("GET", "/rules"): Doc("List automation rules in the order they run (admins)",
                           query={"kind": {"enum": [kind.value for kind in RuleKind]}} | PAGED,
                           answer=array(RULE), paged=True),
    ("POST", "/rules"): Doc("Add a rule (runs after the others of its kind)", RuleFields,
                            answer=RULE, max_body=RECORD_BODY),
    ("PUT", "/rules/order"): Doc("Reorder the rules of one kind", RuleOrder,
                                 answer=array(RULE)),
    ("GET", "/rules/{rule_id}"): Doc("Get a rule", answer=RULE),
    ("PUT", "/rules/{rule_id}"): Doc("Change a rule", RuleUpdate, answer=RULE,
                                     max_body=RECORD_BODY),
    ("DELETE", "/rules/{rule_id}"): Doc("Delete a rule", answer=DELETED),
    ("GET", "/templates"): Doc("List the templates (macros) one may use", query=PAGED,
                               answer=array(TEMPLATE), paged=True),
    ("POST", "/templates"): Doc("Add a template (admins)", TemplateInput, answer=TEMPLATE,
                                max_body=LIST_BODY),
    ("GET", "/templates/{template_id}"): Doc("Get a template", answer=TEMPLATE),
    ("PUT", "/templates/{template_id}"): Doc("Change a template (admins)", TemplateInput,
                                             answer=TEMPLATE, max_body=LIST_BODY),
    ("DELETE", "/templates/{template_id}"): Doc("Delete a template (admins)", answer=DELETED),
    ("POST", "/tickets/{ticket_id}/apply_template"): Doc(
        "Apply a template: its field changes and its reply as your post", TemplateApply,
        answer=TICKET),
    ("POST", "/chat/visitor/id"): Doc("Start a web-chat visitor session (public)",
                                      VisitorStart, answer=public.VISITOR),
    ("POST", "/chat/visitor/messages"): Doc(
        "The visitor writes (public; X-Chat-Session header)", VisitorMessage,
        answer=public.SAID, headers=CHAT_SESSION),
    ("GET", "/chat/visitor/messages"): Doc(
        "The visitor's conversation (public; X-Chat-Session header)",
        answer=array(CHAT_LINE), headers=CHAT_SESSION),
    ("POST", "/forms/{channel_id}"): Doc("Site form: open a ticket (public)", FormSubmission,
                                         answer=public.FORM_SENT, max_body=RECORD_BODY),
    ("POST", "/telephony/calls/{channel_key}"): Doc(
        "PBX call event; channel_key is '@<key>' (public, the key authenticates)", CallEvent,
        answer=public.CALL_HANDLED),
    ("GET", "/calendars"): Doc("List working-time calendars (staff)", query=PAGED,
                               answer=array(CALENDAR), paged=True),
    ("POST", "/calendars"): Doc("Add a calendar: weekly hours, time zone, holidays (admins)",
                                CalendarFields, answer=CALENDAR, max_body=LIST_BODY),
    ("GET", "/calendars/{calendar_id}"): Doc("Get a calendar", answer=CALENDAR),
    ("PUT", "/calendars/{calendar_id}"): Doc("Change a calendar (the fields given)",
                                             CalendarFields, answer=CALENDAR,
                                             max_body=LIST_BODY),
    ("DELETE", "/calendars/{calendar_id}"): Doc("Delete a calendar no policy uses",
                                                answer=DELETED),
    ("GET", "/calendars/{calendar_id}/due"): Doc(
        "When N working minutes from an instant end",
        query={"from": WHEN_Q, "minutes": {"type": "integer", "minimum": 1,
                                           "maximum": MAX_TARGET_MINUTES}},
        needs=("minutes",), answer=sla.DUE),
    ("GET", "/calendars/{calendar_id}/working_time"): Doc(
        "Working seconds between two instants (at most a year apart)",
        query={"from": WHEN_Q, "to": WHEN_Q}, needs=("from", "to"),
        answer=sla.WORKING_TIME),
    ("GET", "/sla_policies"): Doc("List SLA policies in the order they are tried (staff)",
                                  query=PAGED, answer=array(POLICY), paged=True),
    ("POST", "/sla_policies"): Doc("Add an SLA policy (tried after the others; admins)",
                                   PolicyFields, answer=POLICY),
    ("PUT", "/sla_policies/order"): Doc("Reorder the SLA policies", PolicyOrder,
                                        answer=array(POLICY)),
    ("GET", "/sla_policies/{policy_id}"): Doc("Get an SLA policy", answer=POLICY),
    ("PUT", "/sla_policies/{policy_id}"): Doc("Change an SLA policy (the fields given)",
                                              PolicyFields, answer=POLICY),
    ("DELETE", "/sla_policies/{policy_id}"): Doc("Delete an SLA policy", answer=DELETED),
    ("PUT", "/departments/{department_id}"): Doc(
        "Rename a department or set its managers (admins)", DepartmentUpdate, answer=ENTRY,
        max_body=RECORD_BODY),
    ("GET", "/openapi.json"): Doc("This document"),
    **_dictionaries(),
}
# Answered without an API key: the public entry points and this document.
UNAUTHENTICATED = PUBLIC_PATHS | {"/openapi.json"}

ERRORS: Schema = obj({"errors": {"type": "array", "minItems": 1, "items": obj(
    {"code": STR, "title": STR, "details": STR}, {"source": obj({"field": STR})})}})
PAGINATION: Schema = obj({"total": INT, "per_page": INT, "current_page": INT,
                          "total_pages": INT},
                         {"next_cursor": nullable(STR), "total_is_exact": BOOL})
DOCUMENT: Schema = obj({"openapi": STR, "info": obj({}), "paths": obj({})})


def document(routes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    schemas, bodies = _components()
    return {
        "openapi": "3.1.0",
        "info": {"title": "Helpdesk API (HelpDeskEddy v2 compatible)", "version": "2"},
        "servers": [{"url": "/"}],
        "components": {
            "schemas": schemas,
            "securitySchemes": {"basic": {"type": "http", "scheme": "basic",
                                          "description": "email:api_key"}},
        },
        "security": [{"basic": []}],
        "paths": _paths(routes, bodies),
    }


# Any JSON a body may carry, in free-form fields and in fields we ignore: helpdesk/json_body.py
# refuses numbers DynamoDB cannot store anywhere in a body (and nesting past 32 levels).
DIGITS_38 = 10**38 - 1
STORABLE_NUMBER = [{"const": 0}, {"minimum": 1e-130, "maximum": DIGITS_38},
                   {"minimum": -DIGITS_38, "maximum": -1e-130}]
JSON_VALUE: Schema = {"anyOf": [
    {"type": ["string", "boolean", "null"]},
    {"type": "number", "anyOf": STORABLE_NUMBER},
    {"type": "array", "items": ref("Json")},
    {"type": "object", "additionalProperties": ref("Json")},
]}


class _AsValidated(GenerateJsonSchema):
    """Request models' schemas as their validators and the body parser read input: a text
    with a minimum length where the model strips blanks needs a non-blank (" " is refused);
    numbers within DynamoDB's; unknown fields, ignored, are still parsed (Json)."""

    def str_schema(self, schema: core_schema.StringSchema) -> JsonSchemaValue:
        json_schema = super().str_schema(schema)
        stripped = schema.get("strip_whitespace", self._config.str_strip_whitespace)
        if stripped and schema.get("min_length") and "pattern" not in json_schema:
            json_schema["pattern"] = NOT_BLANK
        return json_schema

    def int_schema(self, schema: core_schema.IntSchema) -> JsonSchemaValue:
        json_schema = super().int_schema(schema)
        if self.mode == "validation":
            json_schema.setdefault("maximum", DIGITS_38)
            json_schema.setdefault("minimum", -DIGITS_38)
        return json_schema

    # Pydantic resolves every $ref it meets: a marker now, the reference after (_with_refs).
    def float_schema(self, schema: core_schema.FloatSchema) -> JsonSchemaValue:
        json_schema = super().float_schema(schema)
        if self.mode == "validation" and not {"minimum", "maximum"} & set(json_schema):
            json_schema["anyOf"] = STORABLE_NUMBER
        return json_schema

    def any_schema(self, schema: core_schema.AnySchema) -> JsonSchemaValue:
        return dict(_JSON_MARK) if self.mode == "validation" else super().any_schema(schema)

    def model_schema(self, schema: core_schema.ModelSchema) -> JsonSchemaValue:
        json_schema = super().model_schema(schema)
        if self.mode == "validation" and "additionalProperties" not in json_schema:
            json_schema["additionalProperties"] = dict(_JSON_MARK)
        return json_schema


_JSON_MARK = {"x-json": True}


def _with_refs(schema: Any) -> Any:
    if schema == _JSON_MARK:
        return ref("Json")
    if isinstance(schema, dict):
        return {key: _with_refs(value) for key, value in schema.items()}
    if isinstance(schema, list):
        return [_with_refs(item) for item in schema]
    return schema


def _components() -> tuple[dict[str, Schema], dict[type[BaseModel], Schema]]:
    """Request bodies (pydantic, validation mode), answers' objects (the views' schemas and
    the models dumped by views, serialization mode), the errors envelope, the pagination;
    and the reference of each request body."""
    requests = sorted({doc.body for doc in DOCS.values() if doc.body}, key=lambda m: m.__name__)
    dumped = [shape.model for shape in SHAPES.values() if isinstance(shape, FromModel)]
    refs, generated = models_json_schema(
        [(m, "validation") for m in requests] + [(m, "serialization") for m in dumped],
        ref_template="#/components/schemas/{model}", schema_generator=_AsValidated)
    components: dict[str, Schema] = _with_refs(generated.get("$defs", {}))
    for name, shape in SHAPES.items():
        if isinstance(shape, FromModel):
            name_given = refs[(shape.model, "serialization")]["$ref"].rsplit("/", 1)[1]
            schema = copy.deepcopy(components[name_given])
            schema["properties"] |= shape.set | shape.optional
            schema["required"] = sorted({*schema.get("required", []), *shape.set})
            components[name] = schema
        else:
            components[name] = shape
    bodies = {model: refs[(model, "validation")] for model in requests}
    return components | {"Errors": ERRORS, "Pagination": PAGINATION, "Json": JSON_VALUE}, bodies


def _paths(routes: dict[str, dict[str, Any]],
           bodies: dict[type[BaseModel], Schema]) -> dict[str, dict[str, Any]]:
    paths: dict[str, dict[str, Any]] = {}
    for route, methods in sorted(routes.items()):
        path = route.removeprefix(PREFIX)
        for method in methods:
            doc = DOCS[(method, path)]
            operation: dict[str, Any] = {
                "summary": doc.summary,
                "description": f"Takes a body of at most {doc.max_body:,} bytes; a larger "
                               "one is refused with 413.",
                "x-max-body-bytes": doc.max_body,
                "parameters": _parameters(path, doc),
                "responses": _responses(path, doc),
            }
            if path in UNAUTHENTICATED:
                operation["security"] = []  # no API key: see api/routes/public.py
            if doc.body is not None:
                operation["requestBody"] = {"required": True, "content": {
                    "application/json": {"schema": bodies[doc.body]}}}
            paths.setdefault(route, {})[method.lower()] = operation
    return paths


def _parameters(path: str, doc: Doc) -> list[dict[str, Any]]:
    in_path = [{"name": part[1:-1], "in": "path", "required": True,
                "schema": {"type": "integer", "minimum": 1} if part.endswith("_id}")
                else {"type": "string", "minLength": 1}}
               for part in path.split("/") if part.startswith("{")]
    in_query = [{"name": name, "in": "query", "required": name in doc.needs,
                 "schema": schema if name in doc.needs else {"anyOf": [schema, BLANK]}}
                for name, schema in doc.query.items()]
    in_header = [{"name": name, "in": "header", "required": True, "schema": schema}
                 for name, schema in doc.headers.items()]
    return in_path + in_query + in_header


def _responses(path: str, doc: Doc) -> dict[str, Any]:
    refused = {"description": "Refused: the errors name the problem (a field, a limit)",
               "content": {"application/json": {"schema": ref("Errors")}}}
    too_large = {"description": f"The body is larger than {doc.max_body:,} bytes",
                 "content": {"application/json": {"schema": ref("Errors")}}}
    if path == "/tickets/{ticket_id}/files/{file_id}":
        return {"302": {"description": "To a short-lived download link", "headers": {
            "Location": {"required": True, "schema": STR}}}, "413": too_large, "4XX": refused}
    if path == "/openapi.json":
        answer = DOCUMENT
    else:
        envelope = {"data": doc.answer} | ({"pagination": ref("Pagination")} if doc.paged else {})
        answer = obj(envelope)
    unknown = {"description": "Well-formed, but it names something that does not exist or "
                              "cannot be used there (400: the input itself is malformed)",
               "content": {"application/json": {"schema": ref("Errors")}}}
    return {"200": {"description": "OK", "content": {"application/json": {"schema": answer}}},
            "413": too_large, **({"422": unknown} if doc.body else {}), "4XX": refused}


def max_body(method: str, route: str) -> int:
    """The body limit of an operation (route as Chalice names it: /api/v2/tickets/{ticket_id})."""
    doc = DOCS.get((method, route.removeprefix(PREFIX)))
    return doc.max_body if doc else SMALL_BODY
