"""The site's own entry points: a web-chat visitor session, and a contact form. Both are
public (no API key), so every call is rate-limited per IP and per session, sizes are
bounded, and a visitor only ever sees his own conversation."""

from __future__ import annotations

import hashlib
import secrets as random
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from helpdesk.channels.events import ChannelMessage, Sender
from helpdesk.channels.ingest import ChannelIngest, ChannelLinks, ChannelOutcome, IngestDesk
from helpdesk.channels.model import Channel
from helpdesk.errors import NotFound, Unauthorized
from helpdesk.inputs import Email
from helpdesk.models import ActorType
from helpdesk.phones import to_e164
from helpdesk.ratelimit import RateLimiter
from helpdesk.store.table import Item
from helpdesk.stored import AdminLists

SESSION_DAYS = 30
# A site without a configured web-chat channel still gets chat: a built-in one (id 0).
BUILT_IN_CHAT = Channel(id=0, type="webchat", name="Web chat")


class _Public(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class VisitorStart(_Public):
    email: Email | None = None
    name: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=40)


class VisitorMessage(_Public):
    text: str = Field(min_length=1, max_length=5000)
    client_message_id: str | None = Field(default=None, max_length=100)  # retry-safe sends


class FormSubmission(_Public):
    email: Email
    name: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=40)
    subject: str = Field(min_length=1, max_length=300)
    text: str = Field(min_length=1, max_length=20000)
    custom_fields: dict[str, str | int | float | bool | None] = Field(default_factory=dict,
                                                                      max_length=50)
    submission_id: str | None = Field(default=None, max_length=100)  # a resubmit is one ticket


class ChatLinks(ChannelLinks, Protocol):
    def chat_session(self, session: str) -> Item | None: ...

    def open_chat_session(self, session: str, *, customer_id: int, channel_id: int,
                          expires_at: int) -> None: ...


class ActiveChannels(Protocol):
    def active(self, channel_type: str, channel_id: int) -> Channel: ...


class WebDesk(IngestDesk, Protocol):
    """What the site's entry points need of the helpdesk: the ingest's collaborators, chat
    sessions, the site's channels, and rate counters (through `repository`)."""

    @property
    def links(self) -> ChatLinks: ...

    @property
    def channels(self) -> ActiveChannels: ...

    @property
    def records(self) -> AdminLists: ...


@dataclass(frozen=True)
class ChatLine:
    id: int
    text: str
    author: str  # visitor | agent
    name: str
    date: datetime

    def view(self) -> dict[str, Any]:
        return {"id": self.id, "text": self.text, "from": self.author, "name": self.name,
                "date": self.date.isoformat()}


class WebEntry:
    def __init__(self, helpdesk: WebDesk, per_minute: int = 30,
                 block_seconds: int = 300) -> None:
        self.helpdesk = helpdesk
        self._limit = RateLimiter(helpdesk.repository.rates, helpdesk.clock, per_minute,
                                  block_seconds)
        self._ingest = ChannelIngest.of(helpdesk)

    # --- web chat -----------------------------------------------------------------------
    def start_visitor(self, fields: VisitorStart, ip: str) -> str:
        """A new session token (shown once; stored hashed)."""
        self._limit.hit(f"ip:{ip}")
        token = random.token_urlsafe(24)
        session = _session_key(token)
        channel = self._chat_channel()
        phone = to_e164(fields.phone) if fields.phone else None
        contacts = [("webchat", f"{channel.id}:{session}")]
        contacts += [("phone", phone)] if phone else []
        contacts += [("email", str(fields.email).lower())] if fields.email else []
        customer = self.helpdesk.users.find_or_create_by_contacts(
            contacts, fields.name or (str(fields.email) if fields.email else "Visitor"),
            phone or "")
        expires = int(self.helpdesk.clock().timestamp()) + SESSION_DAYS * 86400
        self.helpdesk.links.open_chat_session(session, customer_id=customer.id,
                                              channel_id=channel.id, expires_at=expires)
        return token

    def visitor_says(self, token: str, fields: VisitorMessage, ip: str) -> ChannelOutcome:
        session, customer_id, channel = self._session(token, ip)
        customer = self.helpdesk.repository.people.get_user(customer_id)
        if customer is None:
            raise NotFound("the chat session's visitor no longer exists")
        event = ChannelMessage(
            event_id=f"chat:{session}:{fields.client_message_id or uuid.uuid4().hex}",
            conversation=session, text=fields.text, provider_message_id="",
            sender=Sender(external_id=session, name=customer.name,
                          email=customer.email or "", phone=customer.phone))
        (outcome,) = self._ingest.receive(channel, (event,))
        return outcome

    def visitor_reads(self, token: str, ip: str) -> list[ChatLine]:
        """The public posts of the visitor's own conversation, oldest first."""
        session, _, channel = self._session(token, ip)
        link = self.helpdesk.links.conversation(channel.id, session)
        if link is None:
            return []
        posts = self.helpdesk.repository.tickets.messages("post", int(link["ticket_id"]))
        names = {}
        lines = []
        for post in posts:
            agent = post.author_type is ActorType.STAFF
            if agent and post.user_id not in names:
                user = (self.helpdesk.repository.people.get_user(post.user_id)
                        if post.user_id else None)
                names[post.user_id] = user.name if user else "Support"
            lines.append(ChatLine(post.id, post.text, "agent" if agent else "visitor",
                                  names.get(post.user_id, "") if agent else "", post.date_created))
        return lines

    # --- site form -------------------------------------------------------------------------
    def submit_form(self, channel_id: int, fields: FormSubmission, ip: str) -> ChannelOutcome:
        self._limit.hit(f"ip:{ip}")
        channel = self.helpdesk.channels.active("form", channel_id)
        submission = fields.submission_id or uuid.uuid4().hex
        event = ChannelMessage(
            event_id=f"form:{submission}", conversation=f"form:{submission}",
            text=fields.text, provider_message_id="",
            sender=Sender(external_id=str(fields.email).lower(), name=fields.name or "",
                          email=str(fields.email), phone=fields.phone or ""),
            extra={"title": fields.subject})
        (outcome,) = self._ingest.receive(channel, (event,), custom_fields={
            name: value for name, value in fields.custom_fields.items()})
        return outcome

    # --- helpers ---------------------------------------------------------------------------
    def _session(self, token: str, ip: str) -> tuple[str, int, Channel]:
        if not token or len(token) > 100:
            raise Unauthorized("send the visitor session id in X-Chat-Session")
        self._limit.hit(f"ip:{ip}")
        session = _session_key(token)
        self._limit.hit(f"chat:{session}")
        item = self.helpdesk.links.chat_session(session)
        if item is None:
            raise Unauthorized("unknown or expired chat session; start a new one")
        channel_id = int(item["channel_id"])
        channel = (self.helpdesk.records.channels.get(channel_id) if channel_id
                   else BUILT_IN_CHAT) or BUILT_IN_CHAT
        return session, int(item["customer_id"]), channel

    def _chat_channel(self) -> Channel:
        return next((c for c in self.helpdesk.records.channels.all()
                     if c.type == "webchat" and c.enabled), BUILT_IN_CHAT)


def _session_key(token: str) -> str:
    """Sessions are stored by digest: a table export does not hand out live sessions."""
    return hashlib.sha256(token.encode()).hexdigest()[:32]
