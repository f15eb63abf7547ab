"""Templates (macros) as agents use them: list the ones in their scope, apply one to a
ticket (field changes and a public reply in the customer's language, one audited change).
Admins manage them. The template itself (texts, placeholders, actions) is `templates`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from helpdesk.access import Viewer
from helpdesk.changes import TicketChange
from helpdesk.errors import InvalidInput, NotFound
from helpdesk.models import Message, Ticket, User
from helpdesk.rules.conditions import Facts
from helpdesk.rules.engine import run_rules
from helpdesk.rules.model import Action, ActionType, Rule, RuleKind
from helpdesk.rules.resolver import ResolverDesk, ResolverTickets, StoredResolver
from helpdesk.templates import Template, parse_template, visible_to

if TYPE_CHECKING:
    from helpdesk.tickets import Mutation

EDITABLE = ("name", "category", "scope", "actions", "texts")


class TemplateTickets(ResolverTickets, Protocol):
    """What applying a template needs of the tickets service: the agent's post and the one
    audited staff write (and what the resolver asks)."""

    def staff_post(self, ticket: Ticket, change: TicketChange, text: str,
                   author: User | None, message_id: int | None = None) -> Message: ...

    def change_as(self, viewer: Viewer, ticket_id: int, kind: str,
                  mutate: Mutation[TicketChange]) -> Ticket: ...


class TemplatesDesk(ResolverDesk, Protocol):
    """What templates need of the helpdesk: the stored templates (and ids), the tickets
    service to apply one, and what the rules' resolver needs to render it."""

    @property
    def tickets(self) -> TemplateTickets: ...


class Templates:
    def __init__(self, helpdesk: TemplatesDesk, clock: Callable[[], datetime]) -> None:
        self._helpdesk = helpdesk
        self._repository = helpdesk.repository
        self._stored = helpdesk.records.templates
        self._clock = clock

    def list(self, viewer: Viewer) -> list[Template]:
        viewer.require_staff("use templates")
        templates = sorted(self._stored.all(), key=lambda t: (t.category, t.name))
        if viewer.is_admin:
            return templates
        return [t for t in templates
                if visible_to(t, viewer.user.id, set(viewer.user.department))]

    def get(self, viewer: Viewer, template_id: int) -> Template:
        template = self._stored.get(template_id)
        if template is None or template not in self.list(viewer):
            raise NotFound(f"template {template_id} does not exist")
        return template

    def create(self, viewer: Viewer, data: dict[str, Any]) -> Template:
        viewer.require_admin("manage templates")
        now = self._clock()
        fields = {name: data[name] for name in EDITABLE if name in data}
        self._refuse_unknown(data)
        template = parse_template({**fields, "id": self._repository.ids.next_id("template"),
                                   "date_created": now, "date_updated": now, "version": 1})
        self._stored.save(template, None)
        return template

    def update(self, viewer: Viewer, template_id: int, data: dict[str, Any]) -> Template:
        viewer.require_admin("manage templates")
        current = self.get(viewer, template_id)
        self._refuse_unknown(data)
        merged = {**current.model_dump(mode="json"),
                  **{name: data[name] for name in EDITABLE if name in data},
                  "version": current.version + 1, "date_updated": self._clock()}
        template = parse_template(merged)
        self._stored.save(template, current.version)
        return template

    def delete(self, viewer: Viewer, template_id: int) -> None:
        viewer.require_admin("manage templates")
        self.get(viewer, template_id)
        self._stored.erase(template_id)

    def apply(self, viewer: Viewer, ticket_id: int, template_id: int) -> Ticket:
        """The template's field changes and its reply, rendered after the changes (so the
        new owner signs it), as the agent's own post: one audited change."""
        viewer.require_staff("apply templates")
        template = self.get(viewer, template_id)
        actions = [Action.model_validate(a) for a in template.actions]
        actions.append(Action(type=ActionType.REPLY, value={"template_id": template.id}))
        macro = Rule(id=0, name=template.name, kind=RuleKind.UPDATED, position=0,
                     actions=actions)
        resolver = StoredResolver(self._helpdesk)
        tickets = self._helpdesk.tickets
        post_id = self._repository.ids.next_id("message")

        def mutate(ticket: Ticket) -> TicketChange:
            outcome = run_rules([macro], Facts(ticket=ticket, now=self._clock()), resolver,
                                f"{ticket.id}-template-{template.id}")
            if outcome.reply is None:
                skipped = next(line for line in outcome.fired[0].did if "reply" in line)
                raise InvalidInput(skipped, field="template_id")
            change = TicketChange(context={"template": {"id": template.id,
                                                        "name": template.name}})
            tickets.staff_post(ticket, change, outcome.reply, viewer.user, post_id)
            return change

        return tickets.change_as(viewer, ticket_id, "post_added", mutate)

    @staticmethod
    def _refuse_unknown(data: dict[str, Any]) -> None:
        unknown = sorted(set(data) - set(EDITABLE))
        if unknown:
            raise InvalidInput(f"unknown field(s) {', '.join(unknown)}; a template has "
                               f"{', '.join(EDITABLE)}", field=unknown[0])
