"""Domain models (pydantic v2). Stored as-is in DynamoDB items, shown through api/views.py."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from helpdesk.sla.model import TicketSla

LocalizedName = dict[str, str]


def utcnow() -> datetime:
    return datetime.now(UTC)


class Model(BaseModel):
    model_config = ConfigDict(validate_assignment=True)


class ActorType(StrEnum):
    STAFF = "staff"
    CUSTOMER = "customer"
    RULE = "rule"
    SYSTEM = "system"
    SLA = "sla"


class Actor(Model):
    type: ActorType
    id: int | None = None
    name: str | None = None
    # Staff who wrote on behalf of the author above (an integration posting a customer's
    # message): the audit and the webhooks name both.
    acting_id: int | None = None
    acting_name: str | None = None

    @staticmethod
    def system() -> Actor:
        return Actor(type=ActorType.SYSTEM)


class Role(StrEnum):
    """Derived from the user's group: what the user may see and do."""

    ADMIN = "admin"
    AGENT = "agent"
    CUSTOMER = "customer"


class UserKind(StrEnum):
    STAFF = "staff"
    CUSTOMER = "customer"


class Contact(Model):
    """One way to reach a customer: an e-mail, a phone, a messenger id."""

    kind: str  # email, phone, telegram, vk, whatsapp, viber, facebook, instagram, ...
    value: str


class User(Model):
    id: int
    kind: UserKind
    group_id: int
    name: str
    lastname: str = ""
    alias: str = ""
    email: str | None = None
    phone: str = ""
    skype: str = ""
    website: str = ""
    organization: str = ""
    organiz_id: int | None = None
    department: list[int] = Field(default_factory=list)
    status: str = "active"  # active | disabled
    language: str = "en"
    notifications: int = 1
    user_status: int | None = None
    custom_fields: dict[str, Any] = Field(default_factory=dict)
    contacts: list[Contact] = Field(default_factory=list)
    api_key_hash: str | None = None
    password_hash: str | None = None
    date_created: datetime = Field(default_factory=utcnow)
    date_updated: datetime = Field(default_factory=utcnow)
    version: int = 0

    @property
    def active(self) -> bool:
        return self.status == "active"


class Organization(Model):
    """A customer company. Membership lives on the user (`organiz_id`); a new customer whose
    e-mail domain is in `domains` joins it."""

    id: int
    name: str
    domains: list[str] = Field(default_factory=list)
    address: str = ""
    phone: str = ""
    email: str = ""
    web: str = ""
    minute_limit: int = 0
    managers: list[int] = Field(default_factory=list)
    custom_fields: dict[str, Any] = Field(default_factory=dict)
    date_created: datetime = Field(default_factory=utcnow)
    date_updated: datetime = Field(default_factory=utcnow)
    version: int = 0


class Ticket(Model):
    id: int
    unique_id: str
    pid: int | None = None
    title: str
    description: str = ""
    source: str = "api"
    status_id: str = "open"
    priority_id: int | None = None
    type_id: int | None = None
    department_id: int | None = None
    owner_id: int | None = None
    user_id: int | None = None
    user_name: str = ""
    user_lastname: str = ""
    user_email: str | None = None
    cc: list[str] = Field(default_factory=list)
    bcc: list[str] = Field(default_factory=list)
    followers: list[int] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    custom_fields: dict[str, Any] = Field(default_factory=dict)
    sla_date: datetime | None = None
    sla_policy_id: int | None = None  # chosen by staff; else the first matching policy
    sla: TicketSla | None = None  # timers, breaches and figures (helpdesk.sla.tracker)
    organization_id: int | None = None  # the requester's, when the ticket was opened
    ticket_lock: bool = False
    mailbox: str | None = None  # our address the conversation runs through (e-mail tickets)
    mail_thread: list[str] = Field(default_factory=list)  # last Message-IDs, oldest first
    channel_id: int | None = None  # the messenger/web/phone channel it came in on
    conversation: str | None = None  # where replies go on that channel (chat id, phone...)
    trashed: bool = False
    spam: bool = False  # marked by staff: the ticket leaves every queue but `spam`
    mentioned: list[int] = Field(default_factory=list)  # staff @mentioned in comments, in order
    date_created: datetime = Field(default_factory=utcnow)
    date_updated: datetime = Field(default_factory=utcnow)
    version: int = 0
    # Store bookkeeping: its queue entries exist (tickets stored before queues get them on
    # their next change or from `Tickets.index`).
    queued: bool = False
    search_text: str = ""  # only on tickets stored before the search text got its own item
    # Bookkeeping for rules (not audited): who wrote the last post and when each side last
    # wrote, when the status was last set.
    last_writer: str | None = None  # customer | staff
    last_customer_reply_at: datetime | None = None
    last_staff_reply_at: datetime | None = None
    status_set_at: datetime | None = None

    # Fields whose changes make audit entries (the rest are derived or bookkeeping).
    AUDITED: ClassVar[tuple[str, ...]] = (
        "title", "description", "status_id", "priority_id", "type_id", "department_id",
        "owner_id", "user_id", "cc", "bcc", "followers", "tags", "custom_fields", "sla_date",
        "sla_policy_id", "ticket_lock", "pid", "trashed", "spam",
    )


class Attachment(Model):
    id: int
    name: str
    link: str
    content_type: str = "application/octet-stream"
    size: int = 0
    key: str = ""  # where the bytes are in the bucket
    content_id: str | None = None  # inline image referenced as cid: from the HTML


class MailOrigin(Model):
    """Where a message came from when it came by mail: for threading, display and audit."""

    message_id: str | None = None
    ses_message_id: str | None = None
    raw_key: str = ""  # the raw MIME in the bucket, always kept
    sender: str = ""
    sender_name: str = ""
    mailbox: str = ""  # which of our addresses received it
    full_text: str = ""  # before the quoted history was folded away
    quoted: str = ""
    html: str | None = None
    auto_submitted: bool = False
    automatic_reason: str | None = None
    charset_problems: list[str] = Field(default_factory=list)
    defects: list[str] = Field(default_factory=list)


class MediaRef(Model):
    """A file a messenger told us about; a workflow step fetches it into the bucket."""

    kind: str
    file_ref: str
    name: str = ""
    content_type: str = ""
    size: int | None = None


class Delivery(Model):
    """Outbound delivery of a staff post to the customer's channel."""

    status: str = "queued"  # queued | sent | failed | skipped
    channel: str = "email"
    message_id: str | None = None
    reason: str | None = None
    attempts: int = 0
    files_sent: int = 0  # messengers: files already through, so a retry sends the rest
    updated: datetime = Field(default_factory=utcnow)


class Message(Model):
    """A post (public, delivered to the customer) or a comment (private note)."""

    id: int
    ticket_id: int
    user_id: int | None
    author_type: ActorType
    text: str
    files: list[Attachment] = Field(default_factory=list)
    visible: bool = False  # comments only: shown to the customer in some UIs; never delivered
    mail: MailOrigin | None = None
    delivery: Delivery | None = None
    media: list[MediaRef] = Field(default_factory=list)  # channel media not yet in the bucket
    provider_message_id: str | None = None  # the channel's id of this message
    edited: bool = False  # the customer edited it in the messenger (history in the audit)
    deleted_by_author: bool = False  # the customer deleted it in the messenger; we keep it
    date_created: datetime = Field(default_factory=utcnow)
    date_updated: datetime = Field(default_factory=utcnow)

    @property
    def needs_delivery_step(self) -> bool:
        """Whether the workflow's delivery step has work with this post: a staff post goes
        to the customer's channel, a customer's post has media to fetch; a customer's plain
        text has none (its workflow skips the step: no Lambda, no reads)."""
        return self.author_type is ActorType.STAFF or bool(self.media)


class FieldChange(Model):
    field: str
    old: Any = None
    new: Any = None


class TicketEvent(Model):
    """One committed change of a ticket, numbered by the version it produced."""

    event_id: str
    ticket_id: int
    version: int
    kind: str  # created, updated, post_added, comment_added, post_updated, ..., trashed, deleted
    actor: Actor
    changes: list[FieldChange] = Field(default_factory=list)
    context: dict[str, Any] = Field(default_factory=dict)  # channel, automatic mail, ...
    at: datetime = Field(default_factory=utcnow)
    workflow_status: str = "PENDING"


class DictionaryEntry(Model):
    id: int | str
    name: LocalizedName
    extra: dict[str, Any] = Field(default_factory=dict)
