from __future__ import annotations

from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import make_msgid

import pytest

from helpdesk.mail.ingest import Mailboxes, MailIngest
from helpdesk.mail.outbound import MailOutbound
from helpdesk.store.blobs import MemoryBlobs

MAILBOX = "support@help.example"


def mail(*, sender: str = "Ivan <ivan@example.ru>", to: str = MAILBOX, subject: str = "Help",
         body: str = "Hello", message_id: str | None = None, in_reply_to: str | None = None,
         references: str | None = None, cc: str | None = None,
         headers: dict[str, str] | None = None) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    if cc:
        message["Cc"] = cc
    message["Subject"] = subject
    message["Message-ID"] = message_id or make_msgid(domain="example.ru")
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    if references:
        message["References"] = references
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    return message.as_bytes()


def dsn(*, failed: str, original_id: str, status: str = "5.1.1") -> bytes:
    """A Postfix-style multipart/report bounce of one of our mails."""
    return f"""From: MAILER-DAEMON@mx.example.ru (Mail Delivery System)
To: {MAILBOX}
Subject: Undelivered Mail Returned to Sender
Message-ID: <dsn-{original_id}>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain; charset=us-ascii

Your message could not be delivered.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.ru

Final-Recipient: rfc822; {failed}
Action: failed
Status: {status}
Diagnostic-Code: smtp; 550 {status} user unknown

--B
Content-Type: message/rfc822

From: {MAILBOX}
To: {failed}
Subject: Re: Help
Message-ID: <{original_id}>

We are on it.

--B--
""".replace("\n", "\r\n").encode()


@dataclass
class FakeSender:
    sent: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    fail_with: Exception | None = None

    def send_raw(self, source: str, destinations: list[str], raw: bytes) -> str:
        if self.fail_with is not None:
            raise self.fail_with
        self.sent.append((source, destinations, raw))
        return f"ses-{len(self.sent)}"


@pytest.fixture
def blobs() -> MemoryBlobs:
    return MemoryBlobs()


@pytest.fixture
def ingest(helpdesk, blobs) -> MailIngest:
    return MailIngest(helpdesk, blobs, Mailboxes.parse(f"{MAILBOX},sales@help.example"), "HD")


@pytest.fixture
def sender() -> FakeSender:
    return FakeSender()


@pytest.fixture
def outbound(helpdesk, blobs, sender) -> MailOutbound:
    return MailOutbound(helpdesk, blobs, sender, Mailboxes.parse(MAILBOX), "HD")
