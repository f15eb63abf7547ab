"""Reply templates (macros): a text per language with placeholders, and field changes an agent
applies in the same step; automation rules send replies from them too.

Placeholders are Jinja2 expressions rendered in a SandboxedEnvironment with StrictUndefined.
Everything a text may refer to is fixed (`PLACEHOLDERS` plus `ticket.custom_fields.<name>`)
and checked when the template is saved, so a typo is refused to the admin instead of turning
into a blank (or an error) in a customer's mail. Besides placeholders a text may use
`{% if %}`, comparisons, `~` and a few string filters (`FILTERS`); loops, arithmetic, calls
and includes are refused. A custom field the ticket lacks renders empty. Output is plain
text; `render_html` gives the escaped variant for a mail's HTML part."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Any

import jinja2
import jinja2.meta
from jinja2 import nodes
from jinja2.sandbox import SandboxedEnvironment
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from helpdesk.errors import InvalidInput, invalid_input, where_and_why
from helpdesk.models import Model, Ticket, utcnow

# The placeholders a text may use, as attribute paths from the four roots.
PLACEHOLDERS: tuple[str, ...] = (
    "ticket.id",
    "ticket.unique_id",
    "ticket.title",
    "ticket.link",
    "customer.name",
    "agent.name",
    "department.name",
)
CUSTOM_FIELDS = "ticket.custom_fields"
_ROOTS = frozenset(path.partition(".")[0] for path in PLACEHOLDERS)
_ALLOWED = frozenset(tuple(path.split(".")) for path in PLACEHOLDERS)
_CUSTOM = tuple(CUSTOM_FIELDS.split("."))
# Custom field keys are names ("order") or the numeric ids HelpDeskEddy integrations send ("3").
CUSTOM_FIELD_NAME = re.compile(r"[\w-]{1,64}")
LANGUAGE = re.compile(r"[a-z]{2,3}(?:[-_][a-z0-9]{2,8})?")
MAX_TEXT = 20_000


class TemplateActionType(StrEnum):
    """The field changes a template may carry: a subset of the rule actions
    (`rules.model.ActionType`), with stricter values (`_ACTION_VALUES`)."""

    SET_STATUS = "set_status"
    SET_PRIORITY = "set_priority"
    SET_DEPARTMENT = "set_department"
    SET_TYPE = "set_type"
    SET_OWNER = "set_owner"
    ADD_TAGS = "add_tags"
    REMOVE_TAGS = "remove_tags"
    SET_CUSTOM_FIELD = "set_custom_field"


Tag = Annotated[str, Field(min_length=1, max_length=100)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CustomFieldValue(_Strict):
    name: Annotated[str, Field(pattern=f"^{CUSTOM_FIELD_NAME.pattern}$")]  # pattern searches
    value: Any = None


# What `value` must be for each action type. Ids are strict ints: "3" for a priority is a
# mistake worth refusing in a template, which is stored and applied many times.
_ACTION_VALUES: dict[TemplateActionType, Any] = {
    TemplateActionType.SET_STATUS: Annotated[str, Field(min_length=1, max_length=100)],
    TemplateActionType.SET_PRIORITY: StrictInt,
    TemplateActionType.SET_DEPARTMENT: StrictInt,
    TemplateActionType.SET_TYPE: StrictInt,
    TemplateActionType.SET_OWNER: StrictInt | None,  # None unassigns
    TemplateActionType.ADD_TAGS: Annotated[list[Tag], Field(min_length=1, max_length=50)],
    TemplateActionType.REMOVE_TAGS: Annotated[list[Tag], Field(min_length=1, max_length=50)],
    TemplateActionType.SET_CUSTOM_FIELD: CustomFieldValue,
}
_VALUE_ADAPTERS = {kind: TypeAdapter(annotation) for kind, annotation in _ACTION_VALUES.items()}


class TemplateAction(_Strict):
    """One field change. `value` by type: set_status a status id (str); set_priority,
    set_department, set_type an id (int); set_owner an id or null (unassign); add_tags and
    remove_tags a non-empty list of tags; set_custom_field `{"name": ..., "value": ...}`."""

    type: TemplateActionType
    value: Any = None

    @model_validator(mode="after")
    def _value_fits_type(self) -> TemplateAction:
        try:
            value = _VALUE_ADAPTERS[self.type].validate_python(self.value)
        except ValidationError as exc:
            where, why = where_and_why(exc, "value")
            raise ValueError(f"{self.type.value}: {where}: {why}") from None
        self.value = value.model_dump() if isinstance(value, BaseModel) else value
        return self


class ScopeKind(StrEnum):
    EVERYONE = "everyone"
    DEPARTMENT = "department"
    AGENT = "agent"


class TemplateScope(_Strict):
    """Who sees the template in the agent UI: everyone, one department's agents, one agent."""

    kind: ScopeKind = ScopeKind.EVERYONE
    id: StrictInt | None = None

    @model_validator(mode="after")
    def _id_matches_kind(self) -> TemplateScope:
        if self.kind is ScopeKind.EVERYONE and self.id is not None:
            raise ValueError("scope 'everyone' takes no id")
        if self.kind is not ScopeKind.EVERYONE and self.id is None:
            raise ValueError(f"scope '{self.kind.value}' needs the {self.kind.value}'s id")
        return self


class Template(Model):
    id: int
    name: Annotated[str, Field(min_length=1, max_length=200)]
    category: Annotated[str, Field(max_length=100)] = ""
    scope: TemplateScope = Field(default_factory=TemplateScope)
    # Validated through TemplateAction, kept as plain dicts ({"type", "value"}) for storage.
    actions: Annotated[list[dict[str, Any]], Field(max_length=50)] = Field(default_factory=list)
    # Language code -> text. The first one is the fallback for a language it lacks.
    texts: dict[str, Annotated[str, Field(max_length=MAX_TEXT)]] = Field(min_length=1)
    date_created: datetime = Field(default_factory=utcnow)
    date_updated: datetime = Field(default_factory=utcnow)
    version: int = 0

    @field_validator("actions")
    @classmethod
    def _valid_actions(cls, actions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [TemplateAction.model_validate(action).model_dump(mode="json")
                for action in actions]

    @field_validator("texts")
    @classmethod
    def _language_codes(cls, texts: dict[str, str]) -> dict[str, str]:
        normalized: dict[str, str] = {}
        for language, text in texts.items():
            code = language.strip().lower().replace("_", "-")
            if not LANGUAGE.fullmatch(code):
                raise ValueError(f"{language!r} is not a language code like 'en' or 'pt-br'")
            if code in normalized:
                raise ValueError(f"language {code!r} is given twice")
            normalized[code] = text
        return normalized


# --- placeholder values -----------------------------------------------------------------------
@dataclass(frozen=True)
class TemplateValues:
    """What the placeholders render to. Build one with `for_ticket`; missing names are ''."""

    ticket_id: int
    ticket_unique_id: str
    ticket_title: str
    ticket_link: str = ""
    customer_name: str = ""
    agent_name: str = ""
    department_name: str = ""
    custom_fields: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def for_ticket(cls, ticket: Ticket, *, link: str = "", agent_name: str = "",
                   department_name: str = "", customer_name: str | None = None
                   ) -> TemplateValues:
        if customer_name is None:
            customer_name = " ".join(p for p in (ticket.user_name, ticket.user_lastname) if p)
        return cls(ticket_id=ticket.id, ticket_unique_id=ticket.unique_id,
                   ticket_title=ticket.title, ticket_link=link, customer_name=customer_name,
                   agent_name=agent_name, department_name=department_name,
                   custom_fields=dict(ticket.custom_fields))

    def context(self) -> dict[str, Any]:
        return {
            "ticket": _Record({"id": self.ticket_id, "unique_id": self.ticket_unique_id,
                               "title": self.ticket_title, "link": self.ticket_link,
                               "custom_fields": _Record(self.custom_fields, lenient=True)}),
            "customer": _Record({"name": self.customer_name}),
            "agent": _Record({"name": self.agent_name}),
            "department": _Record({"name": self.department_name}),
        }


class _Record:
    """A placeholder namespace. Attribute and item access read keys only, never Python
    attributes, so `custom_fields.items` is the field named "items", not dict.items."""

    __slots__ = ("_lenient", "_values")

    def __init__(self, values: Mapping[str, Any], *, lenient: bool = False) -> None:
        self._values = values
        self._lenient = lenient  # custom fields: one the ticket lacks renders empty

    def lookup(self, key: object, env: jinja2.Environment) -> Any:
        name = str(key)  # ticket.custom_fields.3 parses as the integer 3
        if name in self._values:
            return self._values[name]
        if self._lenient:
            # A plain (not strict) Undefined: prints as '', is false, and `|default` sees it.
            return jinja2.Undefined(obj=self, name=name)
        return env.undefined(obj=self, name=name)


class _Environment(SandboxedEnvironment):
    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, _Record):
            return obj.lookup(attribute, self)
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(obj, _Record):
            return obj.lookup(argument, self)
        return super().getitem(obj, argument)


def _finalize(value: Any) -> Any:
    # A custom field may hold null or a list (multi-select): show them the way a person would.
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join("" if item is None else str(item) for item in value)
    return value


@lru_cache(maxsize=1)
def _environment() -> _Environment:
    env = _Environment(undefined=jinja2.StrictUndefined, autoescape=False,
                       finalize=_finalize, keep_trailing_newline=True)
    env.globals.clear()  # no range(), lipsum(), cycler()...: a text uses placeholders only
    return env


# --- validation -----------------------------------------------------------------------------
def validate_template(template: Template) -> Template:
    """Refuse, at save time, any text whose placeholders are not all known. Raises
    InvalidInput with `field` = `texts.<lang>` and the offending placeholder in the message."""
    for language, text in template.texts.items():
        _check_text(text, f"texts.{language}")
    return template


def parse_template(data: Mapping[str, Any]) -> Template:
    """A template from API input: the model's checks and the placeholders', as InvalidInput."""
    try:
        template = Template.model_validate(data)
    except ValidationError as exc:
        raise invalid_input(exc) from None
    return validate_template(template)


def _check_text(text: str, where: str) -> None:
    env = _environment()
    try:
        tree = env.parse(text)
    except jinja2.TemplateSyntaxError as exc:
        raise InvalidInput(f"{where}: line {exc.lineno}: {exc.message}", field=where) from None
    # Before anything compiles the tree: the compiler folds constants, so compiling
    # {{ "x" * 10**9 }} would already compute it.
    _check_constructs(tree, where)
    undeclared = sorted(jinja2.meta.find_undeclared_variables(tree) - _ROOTS)
    if undeclared:
        raise InvalidInput(f"{where}: unknown placeholder {undeclared[0]!r}; "
                           f"use {_known()}", field=where)
    _check_paths(tree, where)
    try:
        # A trial render finds what the sandbox refuses (`|attr('__class__')`) and expressions
        # that fail whatever the values are.
        env.from_string(tree).render(_SAMPLE.context())
    except jinja2.TemplateError as exc:
        raise InvalidInput(f"{where}: {exc}", field=where) from None
    except Exception as exc:  # `{{ 1 / 0 }}` and the like, whatever they raise
        raise InvalidInput(f"{where}: {type(exc).__name__}: {exc}", field=where) from None


_SAMPLE = TemplateValues(ticket_id=1, ticket_unique_id="ABC-123-45678", ticket_title="Subject",
                         ticket_link="https://example.com/t/1", customer_name="Customer",
                         agent_name="Agent", department_name="Department")


# A text is placeholders, conditions and a few string filters: no loops, arithmetic, calls,
# assignments or includes. Besides keeping texts readable this bounds the work and memory a
# render takes ({{ "x" * 10**9 }} or |center(10**9) would be a denial of service).
_NODES: tuple[type[nodes.Node], ...] = (
    nodes.Template, nodes.Output, nodes.TemplateData, nodes.Const, nodes.Name, nodes.Getattr,
    nodes.Getitem, nodes.If, nodes.CondExpr, nodes.And, nodes.Or, nodes.Not, nodes.Compare,
    nodes.Operand, nodes.Concat, nodes.Filter, nodes.Test, nodes.Keyword,
)
FILTERS = frozenset({"upper", "lower", "title", "capitalize", "trim", "default", "d",
                     "truncate", "length", "string"})
TESTS = frozenset({"defined", "undefined", "none", "string", "number", "eq", "ne", "in"})


def _check_constructs(tree: nodes.Template, where: str) -> None:
    for node in tree.find_all(nodes.Node):
        if not isinstance(node, _NODES):
            raise InvalidInput(f"{where}: line {node.lineno}: {_construct(node)} is not "
                               "allowed in a template text; use placeholders, {% if %} and "
                               f"the filters {', '.join(sorted(FILTERS))}", field=where)
        if isinstance(node, nodes.Filter) and node.name not in FILTERS:
            raise InvalidInput(f"{where}: line {node.lineno}: filter {node.name!r} is not "
                               f"allowed; use {', '.join(sorted(FILTERS))}", field=where)
        if isinstance(node, nodes.Test) and node.name not in TESTS:
            raise InvalidInput(f"{where}: line {node.lineno}: test {node.name!r} is not "
                               f"allowed; use {', '.join(sorted(TESTS))}", field=where)


def _construct(node: nodes.Node) -> str:
    names = {nodes.For: "{% for %}", nodes.Assign: "{% set %}", nodes.AssignBlock: "{% set %}",
             nodes.Macro: "{% macro %}", nodes.Include: "{% include %}",
             nodes.Import: "{% import %}", nodes.FromImport: "{% from %}",
             nodes.Extends: "{% extends %}", nodes.Call: "a call", nodes.Block: "{% block %}"}
    if isinstance(node, nodes.BinExpr | nodes.UnaryExpr):
        return f"the operator {node.operator!r}"
    return names.get(type(node), type(node).__name__)


def _check_paths(tree: nodes.Template, where: str) -> None:
    """Every attribute or item access and every use of a root name must be one whole allowed
    placeholder: `ticket` alone, `ticket.title.upper`, `''.__class__`, `{% set t = ticket %}`
    are all refused."""
    covered: set[int] = set()
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        if id(node) in covered:
            continue  # the inner part of an outer access already checked
        chain, base = _chain(node)
        covered.update(id(part) for part in _parts(node))
        if not isinstance(base, nodes.Name) or base.name not in _ROOTS or chain is None:
            raise InvalidInput(f"{where}: {_describe(node)!r} is not a placeholder; "
                               f"use {_known()}", field=where)
        path = (base.name, *chain)
        shown = ".".join(str(step) for step in path)
        if path in _ALLOWED:
            covered.add(id(base))
            continue
        if path[:len(_CUSTOM)] == _CUSTOM and len(path) == len(_CUSTOM) + 1:
            name = str(path[-1])
            if not CUSTOM_FIELD_NAME.fullmatch(name):
                raise InvalidInput(f"{where}: custom field name {name!r} must be letters, "
                                   "digits, '_' or '-' (at most 64)", field=where)
            covered.add(id(base))
            continue
        raise InvalidInput(f"{where}: unknown placeholder '{shown}'; "
                           f"use {_known()}", field=where)
    for node in tree.find_all(nodes.Name):
        if node.ctx == "load" and node.name in _ROOTS and id(node) not in covered:
            raise InvalidInput(f"{where}: '{node.name}' alone is not a placeholder; "
                               f"use {_known()}", field=where)


def _parts(node: nodes.Node) -> Iterator[nodes.Node]:
    while isinstance(node, nodes.Getattr | nodes.Getitem):
        yield node
        node = node.node


def _chain(node: nodes.Node) -> tuple[tuple[str | int, ...] | None, nodes.Node]:
    """(steps from the base, base) of `a.b["c"].d`; steps None if an item key isn't a
    literal string or integer."""
    steps: list[str | int] = []
    literal = True
    while isinstance(node, nodes.Getattr | nodes.Getitem):
        if isinstance(node, nodes.Getattr):
            steps.append(node.attr)
        elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str | int):
            steps.append(node.arg.value)
        else:
            literal = False
        node = node.node
    return (tuple(reversed(steps)) if literal else None), node


def _describe(node: nodes.Node) -> str:
    steps, base = _chain(node)
    head = base.name if isinstance(base, nodes.Name) else "<expression>"
    return ".".join([head, *(str(step) for step in steps or ("...",))])


def _known() -> str:
    return ", ".join(f"{{{{ {path} }}}}" for path in (*PLACEHOLDERS, CUSTOM_FIELDS + ".<name>"))


# --- use ------------------------------------------------------------------------------------
def pick_language(template: Template, language: str | None) -> str:
    """The customer's language if the template has it (exactly, else its base: pt-br -> pt),
    otherwise the template's first language."""
    if language:
        code = language.strip().lower().replace("_", "-")
        for candidate in (code, code.partition("-")[0]):
            if candidate in template.texts:
                return candidate
    return next(iter(template.texts))


def render(template: Template, language: str | None, values: TemplateValues) -> str:
    """The text in the customer's language with the placeholders filled in, as plain text.
    The text is checked again first: one stored before a placeholder was retired must fail
    loudly (InvalidInput), not send a blank."""
    chosen = pick_language(template, language)
    return _checked(template.texts[chosen], f"texts.{chosen}").render(values.context())


def render_html(template: Template, language: str | None, values: TemplateValues) -> str:
    """`render` escaped for an HTML mail part, line breaks kept as <br>."""
    return html.escape(render(template, language, values)).replace("\n", "<br>\n")


@lru_cache(maxsize=256)
def _checked(text: str, where: str) -> jinja2.Template:
    # Texts are few and rendered often (every automatic reply): check and compile once.
    _check_text(text, where)
    return _environment().from_string(text)


def visible_to(template: Template, viewer_user_id: int, department_ids: list[int] | set[int]
               ) -> bool:
    """Whether an agent sees the template in his list. Administrators manage every template;
    that is the caller's decision, not the scope's."""
    scope = template.scope
    if scope.kind is ScopeKind.EVERYONE:
        return True
    if scope.kind is ScopeKind.DEPARTMENT:
        return scope.id in department_ids
    return scope.id == viewer_user_id


__all__ = [
    "CUSTOM_FIELDS",
    "FILTERS",
    "PLACEHOLDERS",
    "TESTS",
    "ScopeKind",
    "Template",
    "TemplateAction",
    "TemplateActionType",
    "TemplateScope",
    "TemplateValues",
    "parse_template",
    "pick_language",
    "render",
    "render_html",
    "validate_template",
    "visible_to",
]
