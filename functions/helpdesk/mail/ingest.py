"""Inbound mail -> ticket: idempotent, threaded, loop-safe. The raw MIME is already stored
(the SES S3 action, or the local SMTP listener) and its key is kept on the post."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from helpdesk.arrival import Earlier, InboundTickets, NewTicket, Thread, land
from helpdesk.changes import Claim, Done, MailLink
from helpdesk.inputs import TicketCreate
from helpdesk.mail.parse import Attachment as MailAttachment
from helpdesk.mail.parse import ParsedMail, parse_mail
from helpdesk.mail.quotes import split_reply
from helpdesk.models import Attachment, MailOrigin, Message, User
from helpdesk.store.blobs import BlobStore
from helpdesk.store.markers import SES_MESSAGE, Markers
from helpdesk.store.table import Item
from helpdesk.stored import StoredRecords
from helpdesk.tickets import FILES_PER_MESSAGE, Inbound

# Reasons (see parse._automatic) that mean "a machine answered": such mail joins the ticket it
# answers (without reopening it) and never opens one. Other automatic mail (notifications,
# bulk) opens tickets, flagged so nothing auto-answers it.
AUTO_REPLY_REASONS = ("Auto-Submitted: auto-replied", "Precedence: auto_reply", "X-Autoreply",
                      "X-Autorespond", "sender ", "multipart/report")
MAX_REFERENCES = 20  # the newest References are enough to find the thread
THREAD_MEMORY = 20
NO_SUBJECT = "(no subject)"
UNKNOWN_SENDER = "unknown-sender@invalid"


@dataclass(frozen=True)
class Mailboxes:
    """Our own addresses; the first is the default one replies go out from. An address may
    belong to a department: its mail opens tickets there, and that department's tickets
    answer from it."""

    addresses: tuple[str, ...]
    departments: dict[str, int] = field(default_factory=dict)

    @staticmethod
    def parse(addresses: str, departments: str = "") -> Mailboxes:
        """`addresses`: "support@x.com,billing@x.com"; `departments`: "billing@x.com=2"."""
        found = tuple(a.strip().lower() for a in addresses.split(",") if a.strip())
        owners: dict[str, int] = {}
        for entry in departments.split(","):
            address, _, department = entry.partition("=")
            if address.strip() and department.strip().isdigit():
                owners[address.strip().lower()] = int(department)
        return Mailboxes(found or ("support@helpdesk.local",), owners)

    def ours(self, address: str) -> bool:
        return address.lower() in self.addresses

    def receiving(self, recipients: list[str]) -> str:
        return next((r.lower() for r in recipients if self.ours(r)), self.addresses[0])

    def department_of(self, mailbox: str) -> int | None:
        return self.departments.get(mailbox.lower())

    def sending_for(self, ticket_mailbox: str | None, department_id: int | None) -> str:
        """The conversation's own address first, then the department's, then the default."""
        if ticket_mailbox:
            return ticket_mailbox
        return next((a for a, d in self.departments.items() if d == department_id),
                    self.addresses[0])


class MailLinks(Protocol):
    def mail_message(self, message_id: str) -> Item | None: ...

    def bouncing(self, address: str) -> Item | None: ...

    def mark_bouncing(self, address: str, **failure: Any) -> None: ...

    def clear_bouncing(self, address: str) -> None: ...


class MailTickets(InboundTickets, Protocol):
    def add_system_comment(self, ticket_id: int, text: str, files: list[Attachment] = ...,
                           message_id: int | None = None) -> Message: ...


class MailCustomers(Protocol):
    def find_or_create_customer(self, email: str, name: str | None) -> User: ...


class MailDesk(Protocol):
    """What inbound mail needs of the helpdesk: the tickets service, customers by address,
    Message-ID and bounce links, the stores (tickets, ids) and "already done" markers."""

    @property
    def tickets(self) -> MailTickets: ...

    @property
    def users(self) -> MailCustomers: ...

    @property
    def links(self) -> MailLinks: ...

    @property
    def repository(self) -> StoredRecords: ...

    @property
    def markers(self) -> Markers: ...

    def clock(self) -> datetime: ...


@dataclass
class IngestResult:
    outcome: str  # created | appended | duplicate | bounce | loop | auto_reply
    ticket_id: int | None = None
    post_id: int | None = None
    details: str = ""
    automatic: bool = False


@dataclass
class MailIngest:
    helpdesk: MailDesk
    blobs: BlobStore
    mailboxes: Mailboxes
    ticket_prefix: str = "HD"
    _token: re.Pattern[str] = field(init=False)

    def __post_init__(self) -> None:
        prefix = re.escape(self.ticket_prefix)
        self._token = re.compile(rf"\[{prefix}-(\d+)\]")
        self._footer = re.compile(rf"ref:{prefix}-(\d+)")

    # --- the one entry point -----------------------------------------------------------------
    def ingest(self, raw: bytes, *, raw_key: str, ses_message_id: str | None = None,
               recipients: list[str] | None = None, envelope_from: str = "") -> IngestResult:
        known = self._already_ingested(ses_message_id, None)
        if known:
            return known
        mail = parse_mail(raw)
        known = self._already_ingested(None, mail.message_id)
        if known:
            return known
        if mail.bounce is not None:
            return self._bounce(mail, raw, raw_key)
        sender_address = mail.sender.address or envelope_from.lower() or UNKNOWN_SENDER
        if self.mailboxes.ours(sender_address):
            return IngestResult("loop", details=f"mail from our own mailbox {sender_address}")
        auto_reply = (mail.automatic_reason or "").startswith(AUTO_REPLY_REASONS)
        arrival = _MailArrival(self, mail, raw_key, ses_message_id, recipients or [],
                               sender_address)
        thread = arrival.remember(self.thread_of(mail))
        if auto_reply and thread.ticket is None:
            return IngestResult("auto_reply", details=f"an automatic answer "
                                f"({mail.automatic_reason}) to nothing of ours; raw kept at "
                                f"{raw_key}", automatic=True)
        if not mail.auto_submitted:
            # A person writing from the address proves it receives mail again.
            self.helpdesk.links.clear_bouncing(sender_address)
        landed = land(arrival, self.helpdesk.tickets, self.helpdesk.repository.ids)
        if landed.earlier is not None:
            return _result_of(landed.earlier)
        return IngestResult(landed.outcome, landed.ticket_id, landed.post_id, landed.matched_by,
                            mail.auto_submitted)

    # --- pieces ----------------------------------------------------------------------------
    def _already_ingested(self, ses_message_id: str | None,
                          message_id: str | None) -> IngestResult | None:
        earlier = self.seen(ses_message_id, message_id)
        return None if earlier is None else _result_of(earlier)

    def seen(self, ses_message_id: str | None, message_id: str | None) -> Earlier | None:
        """An earlier delivery of the mail (its SES id), or a mail with its Message-ID that
        we received or sent (a loop)."""
        item = (self.helpdesk.markers.get(SES_MESSAGE, ses_message_id)
                if ses_message_id else None)
        if item is None and message_id:
            item = self.helpdesk.links.mail_message(message_id)
        if item is None:
            return None
        return Earlier(item.get("ticket_id"), item.get("post_id"),
                       str(item.get("direction", "inbound")))

    def thread_of(self, mail: ParsedMail) -> Thread:
        repository = self.helpdesk.repository
        candidates = [*mail.in_reply_to, *reversed(mail.references[-MAX_REFERENCES:])]
        for message_id in dict.fromkeys(candidates):
            item = self.helpdesk.links.mail_message(message_id)
            if item is not None:
                ticket = repository.tickets.get_ticket(int(item["ticket_id"]))
                if ticket is not None and not ticket.trashed:
                    return Thread(ticket, f"In-Reply-To/References {message_id}")
        for pattern, where, text in ((self._token, "subject", mail.subject),
                                     (self._footer, "footer", mail.text)):
            for match in pattern.finditer(text):
                ticket = repository.tickets.get_ticket(int(match[1]))
                if ticket is not None and not ticket.trashed:
                    return Thread(ticket, f"ticket token in the {where}")
        return Thread()

    def inbound(self, mail: ParsedMail, raw_key: str, ses_message_id: str | None,
                 customer: User, mailbox: str, ticket_id: int) -> Inbound:
        repository = self.helpdesk.repository
        message_id = repository.ids.next_id("message")
        split = split_reply(mail.text)
        files = [self._store(ticket_id, message_id, number, attachment)
                 for number, attachment in enumerate(mail.attachments, start=1)]
        link = {"ticket_id": ticket_id, "post_id": message_id, "direction": "inbound"}
        claims: list[Claim] = []
        if mail.message_id:
            claims.append(MailLink(mail.message_id, message_id))
        if ses_message_id:
            claims.append(Done(SES_MESSAGE, ses_message_id, link))
        origin = MailOrigin(
            message_id=mail.message_id, ses_message_id=ses_message_id, raw_key=raw_key,
            sender=mail.sender.address, sender_name=mail.sender.name, mailbox=mailbox,
            full_text=mail.text, quoted=split.quoted, html=mail.html,
            auto_submitted=mail.auto_submitted, automatic_reason=mail.automatic_reason,
            charset_problems=list(mail.charset_problems), defects=list(mail.defects),
        )
        return Inbound(
            author=customer, text=split.new_text or mail.text, mail=origin, files=files,
            message_id=message_id, claims=claims, thread_id=mail.message_id,
            context={"channel": "email", "auto_submitted": mail.auto_submitted,
                     "automatic_reason": mail.automatic_reason},
        )

    def _store(self, ticket_id: int, message_id: int, number: int,
               attachment: MailAttachment) -> Attachment:
        key = f"attachments/{ticket_id}/{message_id}/{number}/{attachment.filename}"
        self.blobs.put(key, attachment.content, attachment.content_type)
        file_id = message_id * FILES_PER_MESSAGE + number
        return Attachment(id=file_id, name=attachment.filename,
                          link=f"/api/v2/tickets/{ticket_id}/files/{file_id}",
                          content_type=attachment.content_type, size=attachment.size, key=key,
                          content_id=attachment.content_id)

    def _bounce(self, mail: ParsedMail, raw: bytes, raw_key: str) -> IngestResult:
        """A DSN: note it on the ticket whose mail bounced, mark the address; no ticket."""
        bounce = mail.bounce
        assert bounce is not None
        links = self.helpdesk.links
        for address in bounce.recipients:
            links.mark_bouncing(address.lower(), status=bounce.status, action=bounce.action,
                                diagnostic=bounce.diagnostic[:2000], raw_key=raw_key)
        original = (links.mail_message(bounce.original_message_id)
                    if bounce.original_message_id else None)
        if original is None:
            return IngestResult("bounce", details="bounced mail of ours not found")
        ticket_id = int(original["ticket_id"])
        note = (f"Delivery to {', '.join(bounce.recipients) or 'the customer'} failed "
                f"({bounce.action} {bounce.status}): {bounce.diagnostic}")
        comment_id = self.helpdesk.repository.ids.next_id("message")
        comment = self.helpdesk.tickets.add_system_comment(
            ticket_id, note, files=[self._store(ticket_id, comment_id, 1, _dsn_file(raw))],
            message_id=comment_id)
        return IngestResult("bounce", ticket_id, comment.id, note, automatic=True)


def _dsn_file(raw: bytes) -> MailAttachment:
    return MailAttachment(filename="delivery-status.eml", content_type="message/rfc822",
                          content=raw, content_id=None, inline=False, size=len(raw))


def is_bouncing(helpdesk: MailDesk, address: str) -> dict[str, Any] | None:
    return helpdesk.links.bouncing(address.lower())



def _result_of(earlier: Earlier) -> IngestResult:
    if earlier.direction == "outbound":
        return IngestResult("loop", earlier.ticket_id, earlier.post_id,
                            "a mail we sent came back to us")
    return IngestResult("duplicate", earlier.ticket_id, earlier.post_id, "already ingested")


@dataclass
class _MailArrival:
    """An inbound mail, as `arrival.land` asks for it."""

    ingest: MailIngest
    mail: ParsedMail
    raw_key: str
    ses_message_id: str | None
    recipients: list[str]
    sender_address: str
    _first_thread: Thread | None = None

    @property
    def mailbox(self) -> str:
        return self.ingest.mailboxes.receiving(self.recipients
                                               or [a.address for a in self.mail.to])

    @property
    def cc(self) -> list[str]:
        ours = self.ingest.mailboxes.ours
        return [a.address for a in [*self.mail.to, *self.mail.cc]
                if a.address and not ours(a.address) and a.address != self.sender_address]

    def seen(self) -> Earlier | None:
        return self.ingest.seen(self.ses_message_id, self.mail.message_id)

    def thread(self) -> Thread:
        """Looked up once for the first attempt (ingest decides on it before), again after."""
        found, self._first_thread = self._first_thread, None
        return found if found is not None else self.ingest.thread_of(self.mail)

    def remember(self, thread: Thread) -> Thread:
        self._first_thread = thread
        return thread

    def inbound(self, ticket_id: int, thread: Thread) -> Inbound:
        customer = self.ingest.helpdesk.users.find_or_create_customer(
            self.sender_address, self.mail.sender.name or None)
        inbound = self.ingest.inbound(self.mail, self.raw_key, self.ses_message_id, customer,
                                      self.mailbox, ticket_id)
        inbound.auto_reply = (self.mail.automatic_reason or "").startswith(AUTO_REPLY_REASONS)
        inbound.cc = self.cc
        return inbound

    def new_ticket(self, inbound: Inbound) -> NewTicket:
        mailbox = self.mailbox
        return NewTicket(TicketCreate(title=self.mail.subject.strip()[:1000] or NO_SUBJECT,
                                      source="email", mailbox=mailbox, cc=self.cc),
                         self.ingest.mailboxes.department_of(mailbox))
