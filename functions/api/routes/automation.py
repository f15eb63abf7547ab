"""Automation rules and templates (our extension of the v2 API): /api/v2/rules/...,
/api/v2/templates/... and POST /api/v2/tickets/{id}/apply_template. Rules and template
management are for admins; agents list and apply the templates in their scope."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint
from pydantic import BaseModel, ConfigDict, Field

from api.deps import current
from api.requests import Query, body_of, paginate, parse, path_id
from api.routing import data, endpoint, viewer
from api.shapes import FromModel
from api.views import ticket_view
from helpdesk.rules.model import Rule, RuleFields, RuleKind, RuleUpdate
from helpdesk.templates import Template

automation = Blueprint(__name__)
RULE = FromModel(Rule)  # Rule.public(): the model's dump
TEMPLATE = FromModel(Template)


class RuleOrder(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: RuleKind
    ids: list[int] = Field(min_length=1, max_length=500)


class TemplateApply(BaseModel):
    model_config = ConfigDict(extra="forbid")

    template_id: int


@endpoint(automation, "/rules", ("GET",))
def list_rules() -> Any:
    query = Query(automation.current_request)
    kind = query.choice("kind", {k.value for k in RuleKind})
    rules = current().rules.list(viewer(), RuleKind(kind) if kind else None)
    page, pagination = paginate(rules, query)
    return data([r.public() for r in page], pagination=pagination)


@endpoint(automation, "/rules", ("POST",))
def create_rule() -> Any:
    fields = parse(RuleFields, automation.current_request)
    return data(current().rules.create(viewer(), fields).public())


@endpoint(automation, "/rules/order", ("PUT",))
def reorder_rules() -> Any:
    order = parse(RuleOrder, automation.current_request)
    return data([r.public() for r in current().rules.reorder(viewer(), order.kind, order.ids)])


@endpoint(automation, "/rules/{rule_id}", ("GET",))
def get_rule(rule_id: str) -> Any:
    return data(current().rules.get(viewer(), path_id(rule_id, "rule_id")).public())


@endpoint(automation, "/rules/{rule_id}", ("PUT",))
def update_rule(rule_id: str) -> Any:
    body = body_of(automation.current_request)  # malformed JSON first: a 400
    number = path_id(rule_id, "rule_id")
    current().rules.get(viewer(), number)  # then an unknown rule is a 404 whatever the body
    fields = RuleUpdate.model_validate(body)
    return data(current().rules.update(viewer(), number, fields).public())


@endpoint(automation, "/rules/{rule_id}", ("DELETE",))
def delete_rule(rule_id: str) -> Any:
    number = path_id(rule_id, "rule_id")
    current().rules.delete(viewer(), number)
    return data({"id": number, "deleted": True})


@endpoint(automation, "/templates", ("GET",))
def list_templates() -> Any:
    page, pagination = paginate(current().templates.list(viewer()),
                                Query(automation.current_request))
    return data([t.model_dump(mode="json") for t in page], pagination=pagination)


@endpoint(automation, "/templates", ("POST",))
def create_template() -> Any:
    body = _object(body_of(automation.current_request))
    return data(current().templates.create(viewer(), body).model_dump(mode="json"))


@endpoint(automation, "/templates/{template_id}", ("GET",))
def get_template(template_id: str) -> Any:
    template = current().templates.get(viewer(), path_id(template_id, "template_id"))
    return data(template.model_dump(mode="json"))


@endpoint(automation, "/templates/{template_id}", ("PUT",))
def update_template(template_id: str) -> Any:
    body = _object(body_of(automation.current_request))
    template = current().templates.update(viewer(), path_id(template_id, "template_id"), body)
    return data(template.model_dump(mode="json"))


@endpoint(automation, "/templates/{template_id}", ("DELETE",))
def delete_template(template_id: str) -> Any:
    number = path_id(template_id, "template_id")
    current().templates.delete(viewer(), number)
    return data({"id": number, "deleted": True})


@endpoint(automation, "/tickets/{ticket_id}/apply_template", ("POST",))
def apply_template(ticket_id: str) -> Any:
    body = body_of(automation.current_request)  # malformed JSON first: a 400
    number = path_id(ticket_id, "ticket_id")
    current().tickets.get(viewer(), number)  # then an unknown ticket is a 404
    fields = TemplateApply.model_validate(body)
    ticket = current().templates.apply(viewer(), number, fields.template_id)
    return data(ticket_view(ticket))


def _object(body: Any) -> dict[str, Any]:
    from helpdesk.errors import InvalidInput

    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object")
    return body
