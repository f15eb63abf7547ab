"""Provider-neutral shapes of what a webhook carries. Adapters turn a provider's payload into
these; the ingest knows nothing about providers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from helpdesk.errors import InvalidInput
from helpdesk.inputs import MAX_LINE, MAX_TEXT, utf8_size

MAX_ID = 256  # a provider's ids end up in DynamoDB keys (at most 1,024 bytes)
KEPT_TEXT = MAX_TEXT - 1_000  # room for the note saying what was cut


def kept_text(text: str) -> str:
    """A message's text as stored: one post item must stay under DynamoDB's 400 KB, so a text
    longer than any messenger allows (Telegram 4,096, WhatsApp 65,536 characters) is cut,
    saying how much was left out, instead of failing the webhook with the customer's
    message lost."""
    if utf8_size(text) <= KEPT_TEXT:
        return text
    kept = text.encode("utf-8", errors="surrogatepass")[:KEPT_TEXT].decode("utf-8", "ignore")
    return (f"{kept}\n\n[{len(text) - len(kept):,} more characters were not kept: a message "
            f"keeps {KEPT_TEXT:,} bytes]")


def checked_id(value: str, name: str) -> str:
    if len(value) > MAX_ID:
        raise InvalidInput(f"the payload's {name} is longer than {MAX_ID} characters")
    return value


@dataclass(frozen=True)
class WebhookRequest:
    method: str
    headers: dict[str, str]  # names lower-cased
    query: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class ChannelSecrets:
    """Whatever the provider needs; unused fields stay empty."""

    token: str = ""  # Telegram bot token, Viber auth token, VK/WhatsApp/Facebook access token
    webhook_secret: str = ""  # Telegram secret_token, VK secret, custom channel HMAC key
    app_secret: str = ""  # WhatsApp / Facebook / Instagram app secret (X-Hub-Signature-256)
    verify_token: str = ""  # WhatsApp / Facebook hub.verify_token
    confirmation: str = ""  # VK confirmation string
    account_id: str = ""  # WhatsApp phone_number_id, VK group id, Facebook page id


@dataclass(frozen=True)
class Sender:
    external_id: str  # the provider's stable id of the person
    name: str = ""
    username: str = ""
    phone: str = ""
    email: str = ""
    language: str = ""

    def __post_init__(self) -> None:
        checked_id(self.external_id, "sender id")
        for name in ("name", "username", "phone", "email", "language"):
            object.__setattr__(self, name, getattr(self, name)[:MAX_LINE])


@dataclass(frozen=True)
class Media:
    kind: str  # photo | document | audio | video | voice | sticker | location | other
    file_ref: str  # provider file id or URL; downloaded later by a workflow step
    name: str = ""
    content_type: str = ""
    size: int | None = None


@dataclass(frozen=True)
class ChannelMessage:
    event_id: str  # idempotency key: the provider's unique id of this delivery
    conversation: str  # where replies go (chat id, peer id, phone, PSID)
    sender: Sender
    text: str
    provider_message_id: str
    media: tuple[Media, ...] = ()
    sent_at: datetime | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("event_id", "conversation", "provider_message_id"):
            checked_id(getattr(self, name), name)
        object.__setattr__(self, "text", kept_text(self.text))
        object.__setattr__(self, "extra", {key: value[:MAX_LINE]
                                           for key, value in self.extra.items()})


@dataclass(frozen=True)
class MessageEdited:
    event_id: str
    conversation: str
    provider_message_id: str
    text: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", kept_text(self.text))


@dataclass(frozen=True)
class MessageDeleted:
    event_id: str
    conversation: str
    provider_message_id: str


@dataclass(frozen=True)
class StatusUpdate:
    """Delivery news about a message we sent."""

    event_id: str
    provider_message_id: str
    status: str  # delivered | read | failed
    reason: str = ""


@dataclass(frozen=True)
class Ignored:
    """An event type we do not handle: acknowledged and logged."""

    event_id: str
    reason: str


ChannelEvent = ChannelMessage | MessageEdited | MessageDeleted | StatusUpdate | Ignored


@dataclass(frozen=True)
class WebhookResult:
    """What to answer the provider and what it told us."""

    events: tuple[ChannelEvent, ...] = ()
    status: int = 200
    body: str = ""
    content_type: str = "text/plain; charset=utf-8"
