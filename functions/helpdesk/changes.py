"""A change to a ticket as plain data (a change intent).

Domain code decides what a change writes besides the ticket's own fields, and says it here:
the messages it adds or removes, the keys only one change may ever claim (an "already done"
marker, a received mail's Message-ID, a chat's conversation, a provider's message id), the
audit lines it adds and the context its event carries. `Tickets` applies the field changes
to the ticket and hands ticket, event and intent to the store, which turns them into one
conditional transaction (`Repository.commit_ticket`): all of it is written, or nothing.
Nothing here knows items, keys or conditions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from helpdesk.models import FieldChange, Message
from helpdesk.store.markers import MarkerKind

MessageKind = Literal["post", "comment"]


@dataclass(frozen=True)
class Done:
    """The marker of work done once (a rules run of an event, an SLA escalation, a mail's SES
    id): the change commits only while the marker is new, so a repeated run commits
    nothing."""

    kind: MarkerKind[Any]
    key: Any
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MailLink:
    """A received mail's Message-ID now names this post: only if no copy of the mail got
    there first."""

    message_id: str
    post_id: int


@dataclass(frozen=True)
class ConversationLink:
    """A chat now leads to this (new) ticket: only if its link is still what made us open
    one (absent for the chat's first ticket; the closed ticket's id for a later one)."""

    channel_id: int
    chat: str
    linked: int | None


@dataclass(frozen=True)
class ProviderMessageLink:
    """A provider's message id names this post (edits, deletions and delivery news find
    it); the last writer wins."""

    channel_id: int
    provider_message_id: str
    post_id: int
    direction: str = "inbound"


Claim = Done | MailLink | ConversationLink | ProviderMessageLink


SEARCH_TEXT_LIMIT = 30_000  # characters of a ticket's search text: its first texts


@dataclass
class TicketChange:
    """What one change writes beside the ticket's fields. `kind` names the event when the
    change decides it (a rule that replied makes a post event); `notes` are audit lines put
    before the field differences; `searchable` texts are added to the ticket's search text
    (casefolded, kept up to SEARCH_TEXT_LIMIT characters)."""

    kind: str | None = None
    messages: list[tuple[MessageKind, Message]] = field(default_factory=list)
    searchable: list[str] = field(default_factory=list)
    removed: list[tuple[MessageKind, int]] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)
    notes: list[FieldChange] = field(default_factory=list)
    context: dict[str, Any] = field(default_factory=dict)

    @property
    def writes(self) -> bool:
        """Whether it writes anything beyond the ticket (then it is worth an event even when
        no audited field changed)."""
        return bool(self.messages or self.removed or self.claims)

    def add(self, kind: MessageKind, message: Message) -> Message:
        """A message written with the change, named in its audit trail."""
        self.messages.append((kind, message))
        self.notes.append(FieldChange(field=kind, new=message.id))
        return message
