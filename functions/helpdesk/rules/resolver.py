"""What rule actions need from storage: dictionaries, agents, templates, placeholder values
and assignment (round-robin and least-loaded among a department's active agents)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from helpdesk.models import Ticket, User, UserKind
from helpdesk.store import keys
from helpdesk.store.table import KeyRange
from helpdesk.templates import Template, TemplateValues

if TYPE_CHECKING:
    from helpdesk.dictionaries import Dictionaries
    from helpdesk.records import Records
    from helpdesk.store.repository import Repository


class ResolverTickets(Protocol):
    """What the resolver asks of the tickets service: which statuses close a ticket (an
    agent's open load)."""

    def is_closed(self, status_id: str) -> bool: ...


class LinkSettings(Protocol):
    @property
    def ticket_link_base(self) -> str: ...


class ResolverDesk(Protocol):
    """What resolving rule actions needs of the helpdesk: users, templates, counters and
    tickets in storage, the reference lists, which statuses are closed, and where the
    workspace shows a ticket ({{ ticket.link }})."""

    @property
    def settings(self) -> LinkSettings: ...

    @property
    def repository(self) -> Repository: ...

    @property
    def records(self) -> Records: ...

    @property
    def dictionaries(self) -> Dictionaries: ...

    @property
    def tickets(self) -> ResolverTickets: ...


class StoredResolver:
    def __init__(self, helpdesk: ResolverDesk) -> None:
        self.helpdesk = helpdesk
        self._repository = helpdesk.repository
        self._link_base = helpdesk.settings.ticket_link_base.rstrip("/")

    def known(self, dictionary: str, entry_id: int | str) -> bool:
        return self.helpdesk.dictionaries.get(dictionary, entry_id) is not None

    def is_active_agent(self, user_id: int) -> bool:
        user = self._repository.people.get_user(user_id)
        return user is not None and user.kind is UserKind.STAFF and user.active

    def agents_of(self, department_id: int | None) -> list[User]:
        return sorted((u for u in self._repository.people.users_of_kind(UserKind.STAFF.value)
                       if u.active and department_id in u.department), key=lambda u: u.id)

    def owner_for(self, strategy: str, ticket: Ticket) -> int | None:
        agents = self.agents_of(ticket.department_id)
        if not agents:
            return None
        if strategy == "round_robin":
            # An atomic counter per department: concurrent events take different turns.
            turn = self._repository.ids.next_id(keys.round_robin_counter(ticket.department_id))
            return agents[(turn - 1) % len(agents)].id
        loads = {agent.id: self._open_load(agent.id) for agent in agents}
        return min(agents, key=lambda agent: (loads[agent.id], agent.id)).id

    def _open_load(self, agent_id: int) -> int:
        index, pk = keys.tickets_by_owner(agent_id)
        tickets = self._repository.tickets.tickets_in(index, pk, KeyRange())
        return sum(1 for t in tickets if not self.helpdesk.tickets.is_closed(t.status_id))

    def template(self, template_id: int) -> Template | None:
        return self.helpdesk.records.templates.get(template_id)

    def language(self, ticket: Ticket) -> str | None:
        customer = self._repository.people.get_user(ticket.user_id) if ticket.user_id else None
        return customer.language if customer else None

    def values(self, ticket: Ticket) -> TemplateValues:
        owner = self._repository.people.get_user(ticket.owner_id) if ticket.owner_id else None
        department = (self.helpdesk.dictionaries.get("departments", ticket.department_id)
                      if ticket.department_id else None)
        language = self.language(ticket) or "en"
        department_name = ""
        if department is not None:
            department_name = department.name.get(language) or next(
                iter(department.name.values()), "")
        return TemplateValues.for_ticket(
            ticket, link=f"{self._link_base}/{ticket.id}" if self._link_base else "",
            agent_name=" ".join(p for p in (owner.name, owner.lastname) if p) if owner else "",
            department_name=department_name)

    def staff_emails(self, target: str, ticket: Ticket) -> list[str]:
        if target == "owner":
            owner = self._repository.people.get_user(ticket.owner_id) if ticket.owner_id else None
            return [owner.email] if owner and owner.email and owner.active else []
        return [agent.email for agent in self.agents_of(ticket.department_id) if agent.email]
