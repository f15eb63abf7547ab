"""Inbound mail into tickets: idempotency, threading rules in order, loops and bounces."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from helpdesk.inputs import MessageCreate, OrganizationCreate, TicketUpdate
from helpdesk.mail.ingest import is_bouncing
from helpdesk.tickets import TicketFilter
from tests.conftest import ADMIN_EMAIL, ADMIN_KEY
from tests.mail.conftest import MAILBOX, dsn, mail


def _take(ingest, raw: bytes, ses_id: str | None = None, recipients=None):
    return ingest.ingest(raw, raw_key=f"inbound/{ses_id or 'x'}", ses_message_id=ses_id,
                         recipients=recipients or [MAILBOX])


def _admin(helpdesk):
    return helpdesk.users.authenticate(ADMIN_EMAIL, ADMIN_KEY)


def test_a_new_mail_becomes_a_ticket_for_the_sender(ingest, helpdesk):
    raw = mail(sender="Иван Петров <Ivan@Example.RU>", subject="Не проходит оплата",
               body="Карта отклонена.\n\nOn Fri, Nov 20, 2026 at 10:00 AM Shop <s@shop.io> wrote:"
                    "\n> Your order\n")
    result = _take(ingest, raw, "ses-1")
    assert result.outcome == "created"
    ticket = helpdesk.tickets.get(_admin(helpdesk), result.ticket_id)
    assert (ticket.title, ticket.source, ticket.mailbox) == ("Не проходит оплата", "email",
                                                             MAILBOX)
    customer = helpdesk.repository.people.user_by_contact("email", "ivan@example.ru")
    assert customer.name == "Иван Петров" and ticket.user_id == customer.id
    post = helpdesk.tickets.messages(_admin(helpdesk), ticket.id, "post")[0]
    assert post.text.startswith("Карта отклонена.") and "Your order" not in post.text
    assert "Your order" in post.mail.full_text and post.mail.raw_key == "inbound/ses-1"


def test_the_same_mail_three_times_is_one_post(ingest, helpdesk):
    raw = mail(message_id="<once@example.ru>")
    outcomes = [_take(ingest, raw, f"ses-{n}").outcome for n in range(3)]
    assert outcomes == ["created", "duplicate", "duplicate"]
    assert _take(ingest, raw, "ses-0").outcome == "duplicate"  # same SES id again
    assert helpdesk.repository.tickets.get_ticket(2) is None  # no second ticket was opened


def test_one_mail_to_two_of_our_mailboxes_is_one_ticket(ingest):
    raw = mail(to=f"{MAILBOX}, sales@help.example", message_id="<both@example.ru>")
    first = _take(ingest, raw, "ses-a", [MAILBOX])
    second = _take(ingest, raw, "ses-b", ["sales@help.example"])
    assert first.outcome == "created" and second.outcome == "duplicate"
    assert second.ticket_id == first.ticket_id


def test_reply_threads_by_in_reply_to_then_references(ingest):
    first = _take(ingest, mail(message_id="<m1@example.ru>"), "s1")
    by_reply = _take(ingest, mail(subject="Re: Help", message_id="<m2@example.ru>",
                                  in_reply_to="<m1@example.ru>"), "s2")
    by_references = _take(ingest, mail(subject="again", message_id="<m3@example.ru>",
                                       references="<outside@x.io> <m2@example.ru>"), "s3")
    assert by_reply.outcome == "appended" and by_reply.ticket_id == first.ticket_id
    assert by_references.ticket_id == first.ticket_id


def test_reply_threads_by_our_token_but_not_a_foreign_one(ingest):
    first = _take(ingest, mail(message_id="<t1@example.ru>"), "t1")
    ours = _take(ingest, mail(subject=f"Re: Help [HD-{first.ticket_id}]"), "t2")
    assert ours.outcome == "appended" and ours.ticket_id == first.ticket_id
    foreign = _take(ingest, mail(subject=f"Re: Order [ABC-{first.ticket_id}]"), "t3")
    assert foreign.outcome == "created" and foreign.ticket_id != first.ticket_id


def test_two_senders_replying_to_an_outside_message_get_two_tickets(ingest):
    a = _take(ingest, mail(sender="a@x.io", in_reply_to="<newsletter@shop.io>"), "o1")
    b = _take(ingest, mail(sender="b@y.io", in_reply_to="<newsletter@shop.io>"), "o2")
    assert a.outcome == b.outcome == "created" and a.ticket_id != b.ticket_id


def test_cc_becomes_ticket_cc_and_a_reply_reopens(ingest, helpdesk):
    first = _take(ingest, mail(message_id="<c1@example.ru>", cc="boss@example.ru, "
                               f"{MAILBOX}"), "c1")
    admin = _admin(helpdesk)
    assert helpdesk.tickets.get(admin, first.ticket_id).cc == ["boss@example.ru"]
    helpdesk.tickets.update(admin, first.ticket_id, TicketUpdate(status_id="closed"))
    _take(ingest, mail(in_reply_to="<c1@example.ru>", cc="new@example.ru"), "c2")
    ticket = helpdesk.tickets.get(admin, first.ticket_id)
    assert ticket.status_id == "open" and ticket.cc == ["boss@example.ru", "new@example.ru"]


def test_automatic_mail_is_flagged_for_rules(ingest, helpdesk):
    result = _take(ingest, mail(headers={"Auto-Submitted": "auto-generated"}), "auto")
    assert result.outcome == "created" and result.automatic
    event = helpdesk.repository.tickets.events(result.ticket_id)[0]
    assert event.context["auto_submitted"] is True and event.context["channel"] == "email"
    post = helpdesk.tickets.messages(_admin(helpdesk), result.ticket_id, "post")[0]
    assert post.mail.automatic_reason == "Auto-Submitted: auto-generated"


@pytest.mark.parametrize("headers", [
    {"Auto-Submitted": "auto-replied (vacation)"}, {"X-Autoreply": "yes"},
    {"X-Autorespond": "Out of office"}, {"Precedence": "auto_reply"},
])
def test_an_auto_reply_to_nothing_of_ours_makes_no_ticket(ingest, helpdesk, headers):
    result = _take(ingest, mail(sender="ooo@example.ru", headers=headers), "ooo")
    assert result.outcome == "auto_reply" and result.ticket_id is None
    assert helpdesk.tickets.list(_admin(helpdesk), TicketFilter()) == []
    assert helpdesk.repository.people.user_by_contact("email", "ooo@example.ru") is None


def test_an_out_of_office_answer_joins_its_ticket_without_reopening(ingest, helpdesk):
    first = _take(ingest, mail(sender="max@example.ru", message_id="<m1@example.ru>"), "m1")
    admin = _admin(helpdesk)
    helpdesk.tickets.update(admin, first.ticket_id, TicketUpdate(status_id="closed"))
    ooo = _take(ingest, mail(sender="max@example.ru", subject=f"Auto: [HD-{first.ticket_id}]",
                             headers={"Auto-Submitted": "auto-replied"}), "m2")
    assert ooo.outcome == "appended" and ooo.ticket_id == first.ticket_id
    ticket = helpdesk.tickets.get(admin, first.ticket_id)
    assert ticket.status_id == "closed"
    assert ticket.mail_thread == ["m1@example.ru"]  # our next reply still answers the person


def test_mail_from_our_own_mailbox_is_a_loop(ingest):
    assert _take(ingest, mail(sender=MAILBOX), "loop").outcome == "loop"


def test_a_bounce_lands_on_the_ticket_and_marks_the_address(ingest, outbound, helpdesk):
    first = _take(ingest, mail(sender="gone@example.ru", message_id="<b1@example.ru>"), "b1")
    post = helpdesk.tickets.add_message(_admin(helpdesk), first.ticket_id, "post",
                                        MessageCreate(text="We are on it."))
    sent = outbound.deliver(first.ticket_id, post.id)
    tickets_before = [t.id for t in helpdesk.tickets.list(_admin(helpdesk), TicketFilter())]
    result = _take(ingest, dsn(failed="gone@example.ru", original_id=sent.message_id), "dsn")
    assert result.outcome == "bounce" and result.ticket_id == first.ticket_id
    comments = helpdesk.tickets.messages(_admin(helpdesk), first.ticket_id, "comment")
    assert "5.1.1" in comments[-1].text and comments[-1].files
    assert is_bouncing(helpdesk, "GONE@example.ru")["status"] == "5.1.1"
    assert [t.id for t in helpdesk.tickets.list(_admin(helpdesk), TicketFilter())] == (
        tickets_before)


def test_a_bounce_of_unknown_mail_makes_no_ticket(ingest, helpdesk):
    result = _take(ingest, dsn(failed="who@example.ru", original_id="nope@elsewhere"), "dsn2")
    assert result.outcome == "bounce" and result.ticket_id is None
    assert is_bouncing(helpdesk, "who@example.ru") is not None
    assert helpdesk.tickets.list(_admin(helpdesk), TicketFilter()) == []


def test_malformed_mail_still_becomes_a_ticket_with_the_raw_kept(ingest, helpdesk, blobs):
    raw = (b"From: broken@example.ru\r\nSubject: =?bogus?Q?x?=\r\nContent-Type: multipart/mixed;"
           b" boundary=\"nope\"\r\n\r\nno boundary ever comes \xff\xfe\r\n")
    result = _take(ingest, raw, "broken")
    assert result.outcome == "created"
    post = helpdesk.tickets.messages(_admin(helpdesk), result.ticket_id, "post")[0]
    assert post.mail.raw_key == "inbound/broken"
    # Both faults are noted: the boundary that never comes, and 8-bit text with no charset
    # (the guessed charset is charset-normalizer's, not ours to pin).
    assert post.mail.defects == ["multipart/mixed: boundary not found; content read as text"]
    (guess,) = post.mail.charset_problems
    assert guess.startswith("no charset declared; decoded as ") and guess.endswith(
        " (best effort)")
    assert post.text.startswith("no boundary ever comes ")


def test_attachments_are_stored_and_listed(ingest, helpdesk, blobs):
    message = EmailMessage()
    message["From"] = "ann@example.com"
    message["To"] = MAILBOX
    message["Subject"] = "Invoice"
    message["Message-ID"] = "<att@example.com>"
    message.set_content("see attached")
    message.add_attachment(b"%PDF-1.4 demo", maintype="application", subtype="pdf",
                           filename="счёт №5.pdf")
    result = _take(ingest, message.as_bytes(), "att")
    post = helpdesk.tickets.messages(_admin(helpdesk), result.ticket_id, "post")[0]
    assert [(f.name, f.content_type) for f in post.files] == [("счёт №5.pdf", "application/pdf")]
    assert blobs.get(post.files[0].key) == b"%PDF-1.4 demo"


def test_a_known_customer_is_found_by_address_in_any_case(ingest, helpdesk):
    first = _take(ingest, mail(sender="Anna K <anna@shop.io>", subject="One"), "c1")
    second = _take(ingest, mail(sender="ANNA@Shop.IO", subject="Two"), "c2")
    admin = _admin(helpdesk)
    one, two = (helpdesk.tickets.get(admin, r.ticket_id) for r in (first, second))
    assert one.id != two.id and one.user_id == two.user_id
    assert helpdesk.repository.people.get_user(one.user_id).name == "Anna K"


def test_a_new_customer_joins_the_organization_of_his_domain(ingest, helpdesk):
    acme = helpdesk.organizations.create(_admin(helpdesk),
                                         OrganizationCreate(name="ACME", domains=["acme.io"]))
    result = _take(ingest, mail(sender="bob@acme.io"), "o1")
    ticket = helpdesk.tickets.get(_admin(helpdesk), result.ticket_id)
    assert helpdesk.repository.people.get_user(ticket.user_id).organiz_id == acme.id
