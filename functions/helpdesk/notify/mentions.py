"""@mentions in private comments: `@anna`, `@anna.petrova`, `@billing` (a department) notify
the agents meant, by email, once per comment."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Protocol

from helpdesk.models import DictionaryEntry, TicketEvent, User, UserKind

if TYPE_CHECKING:
    from helpdesk.dictionaries import Dictionaries
    from helpdesk.store.repository import Repository

# Not preceded by a word character or a dot: a@b.com is an address, not a mention.
MENTION = re.compile(r"(?<![\w.])@([\w][\w.-]*)")


def _norm(text: str) -> str:
    return text.casefold().replace(" ", "_").replace("-", "_").rstrip(".")


def mentioned_staff(text: str, staff: list[User],
                    departments: list[DictionaryEntry]) -> list[User]:
    """Active staff named in `text`, in first-mention order, each once."""
    active = [u for u in staff if u.kind is UserKind.STAFF and u.active]
    found: dict[int, User] = {}
    for word in (_norm(m) for m in MENTION.findall(text)):
        for user in active:
            names = {_norm(user.alias), _norm((user.email or "").partition("@")[0]),
                     _norm(user.name), _norm(f"{user.name}.{user.lastname}"),
                     _norm(f"{user.name}_{user.lastname}")} - {""}
            if word in names:
                found.setdefault(user.id, user)
        for department in departments:
            if word in {_norm(name) for name in department.name.values()}:
                for user in active:
                    if department.id in user.department:
                        found.setdefault(user.id, user)
    return list(found.values())


class MentionsDesk(Protocol):
    """What finding mentions needs of the helpdesk: the comment, ticket and staff in
    storage, and the departments (a mention may name one)."""

    @property
    def repository(self) -> Repository: ...

    @property
    def dictionaries(self) -> Dictionaries: ...


def mention_effects(helpdesk: MentionsDesk, event: TicketEvent) -> list[dict[str, Any]]:
    """Email notifications for the agents a new private comment mentions (not its author)."""
    comment_id = next((c.new for c in event.changes if c.field == "comment"), None)
    if not isinstance(comment_id, int):
        return []
    repository = helpdesk.repository
    comment = repository.tickets.get_message("comment", event.ticket_id, comment_id)
    ticket = repository.tickets.get_ticket(event.ticket_id)
    if comment is None or ticket is None or "@" not in comment.text:
        return []
    people = mentioned_staff(comment.text, repository.people.users_of_kind(UserKind.STAFF.value),
                             helpdesk.dictionaries.list("departments"))
    author = event.actor.name or "A colleague"
    return [{"type": "notify", "notification": {
        "key": f"{event.event_id}:m{user.id}", "kind": "email", "to": [user.email],
        "subject": f"[{ticket.unique_id}] {author} mentioned you",
        "text": f"{author} mentioned you on {ticket.unique_id} \"{ticket.title}\":\n\n"
                f"{comment.text}"}}
        for user in people if user.email and user.id != comment.user_id]
