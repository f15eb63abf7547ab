"""Who is calling and what they may see: admins everything, agents their departments,
customers their own tickets. A ticket one may not see is answered as not found."""

from __future__ import annotations

from dataclasses import dataclass

from helpdesk.errors import Forbidden, NotFound
from helpdesk.models import Actor, ActorType, Role, Ticket, User


@dataclass(frozen=True)
class Viewer:
    user: User
    role: Role

    @property
    def actor(self) -> Actor:
        kind = ActorType.CUSTOMER if self.role is Role.CUSTOMER else ActorType.STAFF
        return Actor(type=kind, id=self.user.id, name=self.user.name)

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def is_staff(self) -> bool:
        return self.role is not Role.CUSTOMER

    def can_see(self, ticket: Ticket) -> bool:
        if self.role is Role.ADMIN:
            return True
        if self.role is Role.AGENT:
            return ticket.department_id in self.user.department
        return ticket.user_id == self.user.id

    def require_ticket(self, ticket: Ticket | None, ticket_id: int) -> Ticket:
        if ticket is None or not self.can_see(ticket):
            raise NotFound(f"ticket {ticket_id} does not exist")
        return ticket

    def require_admin(self, what: str) -> None:
        if not self.is_admin:
            raise Forbidden(f"only an administrator may {what}")

    def require_staff(self, what: str) -> None:
        if not self.is_staff:
            raise Forbidden(f"only staff may {what}")
