"""A staff post on an e-mail ticket, delivered as a normal reply that threads in the
customer's mail client: our Message-ID, In-Reply-To/References chained to the conversation,
the ticket token in the subject and a reference in the footer."""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from typing import Protocol

from helpdesk.mail.ingest import Mailboxes
from helpdesk.models import ActorType, Attachment, Delivery, Message, Ticket
from helpdesk.store.blobs import BlobStore
from helpdesk.store.markers import AUTO_REPLY, Markers
from helpdesk.store.table import Item
from helpdesk.stored import StoredRecords

REFERENCES_KEPT = 10


class MailSender(Protocol):
    def send_raw(self, source: str, destinations: list[str], raw: bytes) -> str:
        """Send; return the provider's message id. Raise TemporaryFailure to be retried."""
        ...


class SentMailLinks(Protocol):
    def mail_message(self, message_id: str) -> Item | None: ...

    def link_mail_message(self, message_id: str, ticket_id: int, *, direction: str,
                          post_id: int | None = None) -> None: ...

    def bouncing(self, address: str) -> Item | None: ...


class OutboundMailDesk(Protocol):
    """What sending mail needs of the helpdesk: posts and authors in storage, Message-ID
    and bounce links, the daily automatic-mail markers, and the clock."""

    @property
    def repository(self) -> StoredRecords: ...

    @property
    def links(self) -> SentMailLinks: ...

    @property
    def markers(self) -> Markers: ...

    def clock(self) -> datetime: ...


@dataclass
class MailOutbound:
    helpdesk: OutboundMailDesk
    blobs: BlobStore
    sender: MailSender
    mailboxes: Mailboxes
    ticket_prefix: str = "HD"

    def deliver(self, ticket_id: int, post_id: int, *, override_bounce: bool = False) -> Delivery:
        """Idempotent: a post already sent (or not meant for mail) is left as it is."""
        repository = self.helpdesk.repository
        ticket = repository.tickets.get_ticket(ticket_id)
        post = repository.tickets.get_message("post", ticket_id, post_id)
        if ticket is None or post is None or post.delivery is None:
            return Delivery(status="skipped", reason="nothing to deliver")
        if post.delivery.status == "sent" or post.author_type is not ActorType.STAFF:
            return post.delivery
        if not ticket.user_email:
            return self._record(post, Delivery(status="failed", reason="no customer address"))
        bounce = self.helpdesk.links.bouncing(ticket.user_email)
        if bounce is not None and not override_bounce:
            return self._record(post, Delivery(
                status="failed",
                reason=f"{ticket.user_email} is bouncing ({bounce.get('status')}); "
                       "not mailed again without an override"))
        mailbox = self.mailboxes.sending_for(ticket.mailbox, ticket.department_id)
        message_id = self._message_id(ticket, post, mailbox)
        raw = self.compose(ticket, post, mailbox, message_id)
        self.helpdesk.links.link_mail_message(message_id, ticket.id, post_id=post.id,
                                              direction="outbound")
        attempts = post.delivery.attempts + 1
        self.sender.send_raw(mailbox, [ticket.user_email, *ticket.cc], raw)
        return self._record(post, Delivery(status="sent", message_id=message_id,
                                           attempts=attempts))

    def give_up(self, ticket_id: int, post_id: int, reason: str) -> Delivery:
        post = self.helpdesk.repository.tickets.get_message("post", ticket_id, post_id)
        if post is None or post.delivery is None or post.delivery.status == "sent":
            return Delivery(status="skipped", reason="nothing to mark")
        return self._record(post, post.delivery.model_copy(
            update={"status": "failed", "reason": reason}))

    def send_automatic(self, ticket_id: int, text: str, *, key: str, now: datetime,
                       answering_post_id: int | None = None) -> Delivery:
        """A mail nobody typed (acknowledgement, reminder): never to automatic mail, never
        to a bouncing address, at most one per address per day, and marked
        `Auto-Submitted: auto-generated` so the other side's robots stay quiet. `key` names
        the cause (rule + event): running it again sends nothing new."""
        repository = self.helpdesk.repository
        ticket = repository.tickets.get_ticket(ticket_id)
        if ticket is None or not ticket.user_email:
            return Delivery(status="skipped", reason="no customer address")
        answering = (repository.tickets.get_message("post", ticket_id, answering_post_id)
                     if answering_post_id else None)
        if answering is not None and answering.mail and answering.mail.auto_submitted:
            return Delivery(status="skipped", reason="the customer's mail was automatic "
                            f"({answering.mail.automatic_reason}); never auto-answered")
        address = ticket.user_email.lower()
        if self.helpdesk.links.bouncing(address) is not None:
            return Delivery(status="skipped", reason=f"{address} is bouncing")
        mailbox = self.mailboxes.sending_for(ticket.mailbox, ticket.department_id)
        digest = hashlib.sha256(key.encode()).hexdigest()[:16]
        message_id = f"{self.ticket_prefix.lower()}-{ticket.id}-auto-{digest}@" + (
            mailbox.rpartition("@")[2] or "helpdesk.local")
        if self.helpdesk.links.mail_message(message_id) is not None:
            return Delivery(status="skipped", reason="already sent", message_id=message_id)
        if not self._claim_daily_slot(address, key, now):
            return Delivery(status="skipped", reason=f"{address} already got an automatic "
                            "mail today")
        raw = self._build(ticket, "Support", text, [], mailbox, message_id, now,
                          automatic=True)
        self.sender.send_raw(mailbox, [ticket.user_email], raw)
        self.helpdesk.links.link_mail_message(message_id, ticket.id, direction="outbound")
        return Delivery(status="sent", message_id=message_id, attempts=1)

    def _claim_daily_slot(self, address: str, key: str, now: datetime) -> bool:
        """True when this cause holds today's slot (a retry of the same cause keeps it)."""
        markers = self.helpdesk.markers
        slot = (address, now.date().isoformat())
        if markers.mark(AUTO_REPLY, slot, cause=key,
                        expires_at=int(now.timestamp()) + 2 * 86400):
            return True
        held = markers.get(AUTO_REPLY, slot)
        return held is not None and held.get("cause") == key

    def compose(self, ticket: Ticket, post: Message, mailbox: str, message_id: str) -> bytes:
        author = self.helpdesk.repository.people.get_user(post.user_id) if post.user_id else None
        return self._build(ticket, author.name if author else "Support", post.text,
                           post.files, mailbox, message_id, post.date_created)

    def _build(self, ticket: Ticket, author_name: str, text: str, files: list[Attachment],
               mailbox: str, message_id: str, date: datetime, *,
               automatic: bool = False) -> bytes:
        mail = EmailMessage()
        mail["From"] = formataddr((author_name, mailbox))
        mail["To"] = formataddr((ticket.user_name, ticket.user_email or ""))
        if ticket.cc and not automatic:
            mail["Cc"] = ", ".join(ticket.cc)
        mail["Reply-To"] = mailbox
        mail["Subject"] = self._subject(ticket)
        mail["Message-ID"] = f"<{message_id}>"
        mail["Date"] = format_datetime(date)
        if automatic:
            mail["Auto-Submitted"] = "auto-generated"
            mail["X-Auto-Response-Suppress"] = "All"
        thread = ticket.mail_thread[-REFERENCES_KEPT:]
        if thread:
            mail["In-Reply-To"] = f"<{thread[-1]}>"
            mail["References"] = " ".join(f"<{m}>" for m in thread)
        footer = f"ref:{ticket.unique_id}"
        mail.set_content(f"{text}\n\n-- \n{footer}\n")
        paragraphs = "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>"
                             for p in text.split("\n\n"))
        mail.add_alternative(
            f"<html><body>{paragraphs}<p style=\"color:#888;font-size:small\">{footer}</p>"
            "</body></html>", subtype="html")
        for file in files:
            maintype, _, subtype = file.content_type.partition("/")
            mail.add_attachment(self.blobs.get(file.key), maintype=maintype or "application",
                                subtype=subtype or "octet-stream", filename=file.name)
        return mail.as_bytes()

    def _subject(self, ticket: Ticket) -> str:
        subject = ticket.title
        if not re.match(r"(?i)^(re|ответ|aw|sv)\s*:", subject):
            subject = f"Re: {subject}"
        token = f"[{ticket.unique_id}]"
        return subject if token in subject else f"{subject} {token}"

    def _message_id(self, ticket: Ticket, post: Message, mailbox: str) -> str:
        """Deterministic per post: a retried delivery reuses it, so the customer's client
        sees the same message, and threading finds it either way."""
        domain = mailbox.rpartition("@")[2] or "helpdesk.local"
        return f"{self.ticket_prefix.lower()}-{ticket.id}-{post.id}@{domain}"

    def _record(self, post: Message, delivery: Delivery) -> Delivery:
        # Stamped by the helpdesk's clock (the model's default would be the host's time).
        post.delivery = delivery.model_copy(update={"updated": self.helpdesk.clock()})
        self.helpdesk.repository.tickets.replace_message("post", post)
        return post.delivery
