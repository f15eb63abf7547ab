"""Staff replies leave as mail that threads, and the customer's answer comes back in."""

from __future__ import annotations

import email
from datetime import UTC, datetime, timedelta
from email import policy

import pytest

from helpdesk.delivery import TemporaryFailure
from helpdesk.inputs import MessageCreate
from helpdesk.mail.ingest import Mailboxes, MailIngest
from helpdesk.mail.outbound import MailOutbound
from tests.conftest import ADMIN_EMAIL, ADMIN_KEY
from tests.mail.conftest import MAILBOX, dsn, mail


@pytest.fixture
def conversation(ingest, helpdesk):
    result = ingest.ingest(mail(sender="Jane <jane@example.com>", subject="Printer",
                                message_id="<first@example.com>"),
                           raw_key="inbound/1", ses_message_id="1", recipients=[MAILBOX])
    admin = helpdesk.users.authenticate(ADMIN_EMAIL, ADMIN_KEY)
    post = helpdesk.tickets.add_message(admin, result.ticket_id, "post",
                                        MessageCreate(text="Please restart it.\n\nThanks"))
    return result.ticket_id, post


def test_a_staff_post_is_queued_then_sent_as_a_threaded_reply(conversation, outbound, sender,
                                                              helpdesk):
    ticket_id, post = conversation
    assert post.delivery.status == "queued"
    delivery = outbound.deliver(ticket_id, post.id)
    assert delivery.status == "sent"
    (source, destinations, raw), = sender.sent
    sent = email.message_from_bytes(raw, policy=policy.default)
    assert source == MAILBOX and destinations == ["jane@example.com"]
    assert sent["Subject"] == f"Re: Printer [HD-{ticket_id}]"
    assert sent["In-Reply-To"] == "<first@example.com>"
    assert "<first@example.com>" in sent["References"]
    assert sent["Message-ID"] == f"<{delivery.message_id}>"
    assert "Please restart it." in sent.get_body(("plain",)).get_content()
    assert f"ref:HD-{ticket_id}" in sent.get_body(("plain",)).get_content()
    stored = helpdesk.repository.tickets.get_message("post", ticket_id, post.id)
    assert stored.delivery.status == "sent"


def test_delivering_twice_sends_once(conversation, outbound, sender):
    ticket_id, post = conversation
    outbound.deliver(ticket_id, post.id)
    outbound.deliver(ticket_id, post.id)
    assert len(sender.sent) == 1


def test_the_customers_answer_threads_to_our_reply(conversation, outbound, ingest):
    ticket_id, post = conversation
    delivery = outbound.deliver(ticket_id, post.id)
    answer = ingest.ingest(mail(sender="jane@example.com", subject="Re: Printer",
                                in_reply_to=f"<{delivery.message_id}>"),
                           raw_key="inbound/2", ses_message_id="2", recipients=[MAILBOX])
    assert answer.outcome == "appended" and answer.ticket_id == ticket_id


def test_a_bouncing_address_is_not_mailed_again(conversation, outbound, sender, ingest):
    ticket_id, post = conversation
    ingest.ingest(dsn(failed="jane@example.com", original_id="x@y"), raw_key="inbound/d")
    delivery = outbound.deliver(ticket_id, post.id)
    assert delivery.status == "failed" and "bouncing" in delivery.reason
    assert sender.sent == []
    assert outbound.deliver(ticket_id, post.id, override_bounce=True).status == "sent"


def test_temporary_failures_are_raised_for_retry_and_give_up_records(conversation, outbound,
                                                                     sender, helpdesk, clock):
    ticket_id, post = conversation
    sender.fail_with = TemporaryFailure("Throttling")
    with pytest.raises(TemporaryFailure):
        outbound.deliver(ticket_id, post.id)
    clock.advance(days=400)  # stamped by the helpdesk's clock, not the host's
    final = outbound.give_up(ticket_id, post.id, "TemporaryFailure: Throttling")
    assert final.status == "failed" and abs(final.updated - clock.now) < timedelta(seconds=1)
    assert helpdesk.repository.tickets.get_message("post", ticket_id, post.id).delivery.reason


def test_posts_on_tickets_not_from_mail_are_not_mailed(helpdesk, outbound):
    from helpdesk.inputs import TicketCreate

    admin = helpdesk.users.authenticate(ADMIN_EMAIL, ADMIN_KEY)
    ticket = helpdesk.tickets.create(admin, TicketCreate(title="api", user_email="x@y.io"))
    post = helpdesk.tickets.add_message(admin, ticket.id, "post", MessageCreate(text="hi"))
    assert post.delivery is None
    assert outbound.deliver(ticket.id, post.id).status == "skipped"


# --- per-department mailboxes -----------------------------------------------------------------
def test_a_department_mailbox_opens_tickets_there_and_answers_from_itself(helpdesk, blobs,
                                                                          sender):
    admin = helpdesk.users.authenticate(ADMIN_EMAIL, ADMIN_KEY)
    billing = helpdesk.dictionaries.add(admin, "departments", {"en": "Billing"}, None, {})
    mailboxes = Mailboxes.parse(f"{MAILBOX}, billing@help.example",
                                f"Billing@help.example={billing.id}")
    ingest = MailIngest(helpdesk, blobs, mailboxes, "HD")
    outbound = MailOutbound(helpdesk, blobs, sender, mailboxes, "HD")
    result = ingest.ingest(mail(to="billing@help.example", subject="Invoice"),
                           raw_key="inbound/b", recipients=["billing@help.example"])
    assert helpdesk.tickets.get(admin, result.ticket_id).department_id == billing.id
    post = helpdesk.tickets.add_message(admin, result.ticket_id, "post",
                                        MessageCreate(text="Sent again."))
    outbound.deliver(result.ticket_id, post.id)
    (source, _, raw), = sender.sent
    assert source == "billing@help.example"
    assert "billing@help.example" in _parsed(raw)["From"]


def test_a_ticket_opened_by_staff_answers_from_its_departments_mailbox(helpdesk, blobs,
                                                                       sender):
    admin = helpdesk.users.authenticate(ADMIN_EMAIL, ADMIN_KEY)
    billing = helpdesk.dictionaries.add(admin, "departments", {"en": "Billing"}, None, {})
    mailboxes = Mailboxes.parse(f"{MAILBOX},billing@help.example",
                                f"billing@help.example={billing.id}")
    assert mailboxes.sending_for(None, billing.id) == "billing@help.example"
    assert mailboxes.sending_for(None, 1) == MAILBOX
    assert mailboxes.sending_for("sales@help.example", billing.id) == "sales@help.example"


# --- automatic mail -----------------------------------------------------------------------------
NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def _opened(ingest, **headers):
    return ingest.ingest(mail(sender="kim@example.com", headers=headers),
                         raw_key="inbound/a", recipients=[MAILBOX])


def test_automatic_mail_is_marked_and_threads(ingest, outbound, sender):
    opened = _opened(ingest)
    delivery = outbound.send_automatic(opened.ticket_id, "We got your request.", key="ack-1",
                                       now=NOW, answering_post_id=opened.post_id)
    assert delivery.status == "sent"
    sent = _parsed(sender.sent[0][2])
    assert sent["Auto-Submitted"] == "auto-generated"
    assert sent["X-Auto-Response-Suppress"] == "All"
    assert f"[HD-{opened.ticket_id}]" in sent["Subject"]
    reply = ingest.ingest(mail(sender="kim@example.com", subject="Re: thanks",
                               in_reply_to=sent["Message-ID"]),
                          raw_key="inbound/r", recipients=[MAILBOX])
    assert reply.outcome == "appended" and reply.ticket_id == opened.ticket_id


def test_automatic_mail_never_answers_automatic_mail(ingest, outbound, sender):
    opened = _opened(ingest, **{"Auto-Submitted": "auto-generated"})
    delivery = outbound.send_automatic(opened.ticket_id, "We got it.", key="ack", now=NOW,
                                       answering_post_id=opened.post_id)
    assert delivery.status == "skipped" and "automatic" in delivery.reason
    assert sender.sent == []


def test_at_most_one_automatic_mail_per_address_per_day(ingest, outbound, sender):
    first = _opened(ingest)
    second = ingest.ingest(mail(sender="KIM@example.com", subject="Another thing"),
                           raw_key="inbound/2", recipients=[MAILBOX])
    assert second.ticket_id != first.ticket_id
    assert outbound.send_automatic(first.ticket_id, "ack", key="a", now=NOW).status == "sent"
    later = outbound.send_automatic(second.ticket_id, "ack", key="b", now=NOW)
    assert later.status == "skipped" and "today" in later.reason
    tomorrow = outbound.send_automatic(second.ticket_id, "ack", key="b",
                                       now=NOW + timedelta(days=1))
    assert tomorrow.status == "sent" and len(sender.sent) == 2


def test_the_same_automatic_mail_run_twice_is_sent_once(ingest, outbound, sender):
    opened = _opened(ingest)
    outbound.send_automatic(opened.ticket_id, "ack", key="rule-3/event-1", now=NOW)
    again = outbound.send_automatic(opened.ticket_id, "ack", key="rule-3/event-1", now=NOW)
    assert again.status == "skipped" and again.reason == "already sent"
    assert len(sender.sent) == 1


def test_a_retry_after_a_failed_send_still_sends(ingest, outbound, sender):
    opened = _opened(ingest)
    sender.fail_with = TemporaryFailure("Throttling")
    with pytest.raises(TemporaryFailure):
        outbound.send_automatic(opened.ticket_id, "ack", key="k", now=NOW)
    sender.fail_with = None
    assert outbound.send_automatic(opened.ticket_id, "ack", key="k", now=NOW).status == "sent"


def test_no_automatic_mail_to_a_bouncing_address(ingest, outbound, sender, helpdesk):
    opened = _opened(ingest)
    ingest.ingest(dsn(failed="kim@example.com", original_id="x@y"), raw_key="inbound/d")
    delivery = outbound.send_automatic(opened.ticket_id, "ack", key="k", now=NOW)
    assert delivery.status == "skipped" and "bouncing" in delivery.reason


def _parsed(raw: bytes):
    return email.message_from_bytes(raw, policy=policy.default)


def test_the_customer_writing_again_clears_the_bounce_mark(conversation, outbound, sender,
                                                           ingest):
    ticket_id, post = conversation
    ingest.ingest(dsn(failed="jane@example.com", original_id="x@y"), raw_key="inbound/d")
    assert outbound.deliver(ticket_id, post.id).status == "failed"
    ingest.ingest(mail(sender="jane@example.com", subject=f"Re: Printer [HD-{ticket_id}]"),
                  raw_key="inbound/back", recipients=[MAILBOX])
    assert outbound.deliver(ticket_id, post.id).status == "sent"
