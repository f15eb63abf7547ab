"""The OpenAPI 3.1 description of /api/v2, served at /api/v2/openapi.json.

Built from the Chalice route table and the pydantic input models; a test checks that every
route is described here, so the document cannot fall behind the code."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from api.routes.automation import RuleOrder, TemplateApply
from api.routes.sla import DepartmentUpdate, PolicyOrder
from helpdesk import inputs
from helpdesk.channels.model import ChannelCreate, ChannelUpdate
from helpdesk.channels.telephony import CallEvent
from helpdesk.channels.web import FormSubmission, VisitorMessage, VisitorStart
from helpdesk.rules.model import RuleFields, RuleUpdate
from helpdesk.sla.model import CalendarFields, PolicyFields
from helpdesk.subscriptions.model import SubscriptionCreate, SubscriptionUpdate
from helpdesk.templates import TemplateAction, TemplateScope


class TemplateInput(BaseModel):
    """A template as the API takes it (checked again, placeholders too, when saved)."""

    name: str
    category: str = ""
    scope: TemplateScope | None = None
    actions: list[TemplateAction] = []
    texts: dict[str, str]

PREFIX = "/api/v2"
TICKET_FILTERS = {
    "status_id": "string", "priority_id": "integer", "type_id": "integer",
    "department_id": "integer", "user_id": "integer", "owner_id": "integer",
    "created_from": "string", "created_to": "string", "updated_from": "string",
    "updated_to": "string", "search": "string", "trash": "boolean",
}
USER_FILTERS = {"group_id": "integer", "department_id": "integer", "status": "string",
                "user_status": "integer", "organization_id": "integer", "search": "string"}
ORGANIZATION_FILTERS = {"manager_id": "integer", "employee_id": "integer", "search": "string"}
PAGED = {"page": "integer", "per_page": "integer"}


@dataclass(frozen=True)
class Doc:
    summary: str
    body: type[BaseModel] | None = None
    query: dict[str, str] = field(default_factory=dict)


def _dictionaries() -> dict[tuple[str, str], Doc]:
    docs = {}
    for kind in ("departments", "statuses", "priorities", "types", "groups", "user_statuses"):
        docs[("GET", f"/{kind}")] = Doc(f"List {kind.replace('_', ' ')}")
        docs[("POST", f"/{kind}")] = Doc(f"Add to {kind.replace('_', ' ')} (admins)",
                                         inputs.DictionaryCreate)
    return docs


def _messages(kind: str, body: type[BaseModel]) -> dict[tuple[str, str], Doc]:
    base = f"/tickets/{{ticket_id}}/{kind}s"
    return {
        ("GET", base): Doc(f"List a ticket's {kind}s", query=PAGED),
        ("POST", base): Doc(f"Add a {kind}", inputs.MessageCreate),
        ("PUT", base + "/{message_id}"): Doc(f"Edit a {kind}", body),
        ("DELETE", base + "/{message_id}"): Doc(f"Delete a {kind}"),
    }


DOCS: dict[tuple[str, str], Doc] = {
    ("GET", "/tickets"): Doc("List tickets (data keyed by id)", query=TICKET_FILTERS | PAGED),
    ("POST", "/tickets"): Doc("Create a ticket", inputs.TicketCreate),
    ("GET", "/tickets/{ticket_id}"): Doc("Get a ticket"),
    ("PUT", "/tickets/{ticket_id}"): Doc("Change a ticket", inputs.TicketUpdate),
    ("DELETE", "/tickets/{ticket_id}"): Doc("Move to the trash, or erase with delete=true",
                                            query={"delete": "boolean"}),
    ("POST", "/tickets/{ticket_id}/restore"): Doc("Restore a ticket from the trash"),
    ("GET", "/tickets/{ticket_id}/audit"): Doc("The ticket's audit trail"),
    ("GET", "/tickets/{ticket_id}/files/{file_id}"): Doc("Download a file (302 to a link)"),
    **_messages("post", inputs.MessageUpdate),
    **_messages("comment", inputs.MessageUpdate),
    ("GET", "/users"): Doc("List users", query=USER_FILTERS | PAGED),
    ("POST", "/users"): Doc("Create a user (staff get their API key once)", inputs.UserCreate),
    ("GET", "/users/{user_id}"): Doc("Get a user"),
    ("PUT", "/users/{user_id}"): Doc("Change a user", inputs.UserUpdate),
    ("DELETE", "/users/{user_id}"): Doc("Delete a user"),
    ("POST", "/users/{user_id}/api_key"): Doc("Issue a new API key (shown once)"),
    ("GET", "/organizations"): Doc("List organizations", query=ORGANIZATION_FILTERS | PAGED),
    ("POST", "/organizations"): Doc("Create an organization", inputs.OrganizationCreate),
    ("GET", "/organizations/{organization_id}"): Doc("Get an organization"),
    ("PUT", "/organizations/{organization_id}"): Doc("Change an organization",
                                                      inputs.OrganizationUpdate),
    ("DELETE", "/organizations/{organization_id}"): Doc("Delete an organization (admins)"),
    ("GET", "/channels"): Doc("List channels (admins)", query=PAGED),
    ("POST", "/channels"): Doc("Connect a channel; generated secrets are shown once",
                               ChannelCreate),
    ("GET", "/channels/{channel_id}"): Doc("Get a channel (secrets masked)"),
    ("PUT", "/channels/{channel_id}"): Doc("Change a channel", ChannelUpdate),
    ("DELETE", "/channels/{channel_id}"): Doc("Disable a channel"),
    ("GET", "/webhook_subscriptions"): Doc("List outbound webhook subscriptions (admins)",
                                           query=PAGED),
    ("POST", "/webhook_subscriptions"): Doc("Subscribe a URL to ticket events; the signing "
                                            "secret is shown once", SubscriptionCreate),
    ("GET", "/webhook_subscriptions/{subscription_id}"): Doc("Get a subscription"),
    ("PUT", "/webhook_subscriptions/{subscription_id}"): Doc("Change a subscription",
                                                             SubscriptionUpdate),
    ("DELETE", "/webhook_subscriptions/{subscription_id}"): Doc("Delete a subscription"),
    ("GET", "/webhook_subscriptions/{subscription_id}/dead_letters"): Doc(
        "Deliveries that failed for good in the last 30 days, newest first", query=PAGED),
    ("GET", "/rules"): Doc("List automation rules in the order they run (admins)",
                           query={"kind": "string"} | PAGED),
    ("POST", "/rules"): Doc("Add a rule (runs after the others of its kind)", RuleFields),
    ("PUT", "/rules/order"): Doc("Reorder the rules of one kind", RuleOrder),
    ("GET", "/rules/{rule_id}"): Doc("Get a rule"),
    ("PUT", "/rules/{rule_id}"): Doc("Change a rule", RuleUpdate),
    ("DELETE", "/rules/{rule_id}"): Doc("Delete a rule"),
    ("GET", "/templates"): Doc("List the templates (macros) one may use", query=PAGED),
    ("POST", "/templates"): Doc("Add a template (admins)", TemplateInput),
    ("GET", "/templates/{template_id}"): Doc("Get a template"),
    ("PUT", "/templates/{template_id}"): Doc("Change a template (admins)", TemplateInput),
    ("DELETE", "/templates/{template_id}"): Doc("Delete a template (admins)"),
    ("POST", "/tickets/{ticket_id}/apply_template"): Doc(
        "Apply a template: its field changes and its reply as your post", TemplateApply),
    ("POST", "/chat/visitor/id"): Doc("Start a web-chat visitor session (public)",
                                      VisitorStart),
    ("POST", "/chat/visitor/messages"): Doc(
        "The visitor writes (public; X-Chat-Session header)", VisitorMessage),
    ("GET", "/chat/visitor/messages"): Doc(
        "The visitor's conversation (public; X-Chat-Session header)"),
    ("POST", "/forms/{channel_id}"): Doc("Site form: open a ticket (public)", FormSubmission),
    ("POST", "/telephony/calls/{channel_key}"): Doc(
        "PBX call event; channel_key is '@<key>' (public, the key authenticates)", CallEvent),
    ("GET", "/calendars"): Doc("List working-time calendars (staff)", query=PAGED),
    ("POST", "/calendars"): Doc("Add a calendar: weekly hours, time zone, holidays (admins)",
                                CalendarFields),
    ("GET", "/calendars/{calendar_id}"): Doc("Get a calendar"),
    ("PUT", "/calendars/{calendar_id}"): Doc("Change a calendar (the fields given)",
                                             CalendarFields),
    ("DELETE", "/calendars/{calendar_id}"): Doc("Delete a calendar no policy uses"),
    ("GET", "/calendars/{calendar_id}/due"): Doc(
        "When N working minutes from an instant end", query={"from": "string",
                                                              "minutes": "integer"}),
    ("GET", "/calendars/{calendar_id}/working_time"): Doc(
        "Working seconds between two instants", query={"from": "string", "to": "string"}),
    ("GET", "/sla_policies"): Doc("List SLA policies in the order they are tried (staff)",
                                  query=PAGED),
    ("POST", "/sla_policies"): Doc("Add an SLA policy (tried after the others; admins)",
                                   PolicyFields),
    ("PUT", "/sla_policies/order"): Doc("Reorder the SLA policies", PolicyOrder),
    ("GET", "/sla_policies/{policy_id}"): Doc("Get an SLA policy"),
    ("PUT", "/sla_policies/{policy_id}"): Doc("Change an SLA policy (the fields given)",
                                              PolicyFields),
    ("DELETE", "/sla_policies/{policy_id}"): Doc("Delete an SLA policy"),
    ("PUT", "/departments/{department_id}"): Doc(
        "Rename a department or set its managers (admins)", DepartmentUpdate),
    ("GET", "/openapi.json"): Doc("This document"),
    **_dictionaries(),
}

ERRORS = {
    "type": "object",
    "required": ["errors"],
    "properties": {"errors": {"type": "array", "items": {
        "type": "object", "required": ["code", "title", "details"],
        "properties": {"code": {"type": "string"}, "title": {"type": "string"},
                       "details": {"type": "string"}}}}},
}


def document(routes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    models = sorted({doc.body for doc in DOCS.values() if doc.body}, key=lambda m: m.__name__)
    refs, schemas = models_json_schema([(m, "validation") for m in models],
                                       ref_template="#/components/schemas/{model}")
    paths: dict[str, dict[str, Any]] = {}
    for route, methods in sorted(routes.items()):
        path = route.removeprefix(PREFIX)
        for method in methods:
            doc = DOCS[(method, path)]
            operation: dict[str, Any] = {
                "summary": doc.summary,
                "parameters": [
                    {"name": part[1:-1], "in": "path", "required": True,
                     "schema": {"type": "integer", "minimum": 1} if part.endswith("_id}")
                     else {"type": "string", "minLength": 1}}
                    for part in path.split("/") if part.startswith("{")
                ] + [{"name": name, "in": "query", "required": False,
                      "schema": {"type": kind} | ({"minimum": 1} if kind == "integer" else {})}
                     for name, kind in doc.query.items()],
                "responses": {
                    "200": {"description": "OK", "content": {"application/json": {
                        "schema": {"type": "object", "required": ["data"]}}}},
                    "4XX": {"description": "Refused", "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Errors"}}}},
                },
            }
            if doc.body is not None:
                operation["requestBody"] = {"required": True, "content": {
                    "application/json": {"schema": refs[(doc.body, "validation")]}}}
            paths.setdefault(route, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "Helpdesk API (HelpDeskEddy v2 compatible)", "version": "2"},
        "servers": [{"url": "/"}],
        "components": {
            "schemas": {**schemas.get("$defs", {}), "Errors": ERRORS},
            "securitySchemes": {"basic": {"type": "http", "scheme": "basic",
                                          "description": "email:api_key"}},
        },
        "security": [{"basic": []}],
        "paths": paths,
    }
