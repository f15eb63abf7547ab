"""Staff replies leave as mail that threads, and the customer's answer comes back in."""

from __future__ import annotations

import email
from email import policy

import pytest

from helpdesk.inputs import MessageCreate
from helpdesk.mail.outbound import TemporaryFailure
from tests.conftest import ADMIN_EMAIL, ADMIN_KEY
from tests.mail.conftest import MAILBOX, mail


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
    stored = helpdesk.repository.get_message("post", ticket_id, post.id)
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


def test_a_bouncing_address_is_not_mailed_again(conversation, outbound, sender, helpdesk):
    ticket_id, post = conversation
    helpdesk.repository.table.put({"PK": "BOUNCE#jane@example.com", "SK": "BOUNCE",
                                   "status": "5.1.1"})
    delivery = outbound.deliver(ticket_id, post.id)
    assert delivery.status == "failed" and "bouncing" in delivery.reason
    assert sender.sent == []
    assert outbound.deliver(ticket_id, post.id, override_bounce=True).status == "sent"


def test_temporary_failures_are_raised_for_retry_and_give_up_records(conversation, outbound,
                                                                     sender, helpdesk):
    ticket_id, post = conversation
    sender.fail_with = TemporaryFailure("Throttling")
    with pytest.raises(TemporaryFailure):
        outbound.deliver(ticket_id, post.id)
    final = outbound.give_up(ticket_id, post.id, "TemporaryFailure: Throttling")
    assert final.status == "failed"
    assert helpdesk.repository.get_message("post", ticket_id, post.id).delivery.reason


def test_posts_on_tickets_not_from_mail_are_not_mailed(helpdesk, outbound):
    from helpdesk.inputs import TicketCreate

    admin = helpdesk.users.authenticate(ADMIN_EMAIL, ADMIN_KEY)
    ticket = helpdesk.tickets.create(admin, TicketCreate(title="api", user_email="x@y.io"))
    post = helpdesk.tickets.add_message(admin, ticket.id, "post", MessageCreate(text="hi"))
    assert post.delivery is None
    assert outbound.deliver(ticket.id, post.id).status == "skipped"
