"""Webhooks into tickets and replies back out, through the real webhook handler on the
in-memory table (and on moto DynamoDB for the race), with a fake Telegram on 127.0.0.1."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from pathlib import Path

import pytest

from helpdesk.channels.model import ChannelCreate, ChannelUpdate
from helpdesk.channels.outbound import ChannelOutbound
from helpdesk.inputs import MessageCreate, TicketUpdate
from helpdesk.store.blobs import MemoryBlobs
from helpdesk.tickets import TicketFilter
from tests.conftest import ADMIN_EMAIL, ADMIN_KEY, make_helpdesk
from tests.support.concurrency import at_once
from webhooks_in import handler as webhooks

PAYLOADS = Path(__file__).parent / "payloads"
SECRET = "telegram-secret-token-123"


def payload(name: str) -> dict:
    return json.loads((PAYLOADS / f"{name}.json").read_text())


def admin(helpdesk):
    return helpdesk.users.authenticate(ADMIN_EMAIL, ADMIN_KEY)


@pytest.fixture
def telegram(helpdesk, fake_providers):
    channel, _ = helpdesk.channels.create(admin(helpdesk), ChannelCreate.model_validate({
        "type": "telegram", "name": "Support bot",
        "secrets": {"token": "123456:ABC-bot-token", "webhook_secret": SECRET},
        "options": {"api_base_url": fake_providers.url, "reopen_days": 3}}))
    webhooks.helpdesk.use(helpdesk)
    return channel


def post_webhook(channel, body: dict | bytes, headers: dict | None = None) -> dict:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return webhooks.handler({
        "httpMethod": "POST", "path": f"/webhooks/{channel.type}/{channel.id}",
        "headers": {"Content-Type": "application/json",
                    **({"X-Telegram-Bot-Api-Secret-Token": SECRET} if headers is None
                       else headers)},
        "body": raw.decode(), "isBase64Encoded": False}, None)


def tickets(helpdesk):
    return helpdesk.tickets.list(admin(helpdesk), TicketFilter())


def test_a_telegram_message_becomes_a_ticket_for_a_new_customer(helpdesk, telegram):
    answer = post_webhook(telegram, payload("telegram_text"))
    assert answer["statusCode"] == 200
    (ticket,) = tickets(helpdesk)
    assert (ticket.source, ticket.channel_id, ticket.conversation) == (
        "telegram", telegram.id, "123456789")
    assert ticket.title == "Принтер не печатает"
    customer = helpdesk.repository.people.get_user(ticket.user_id)
    assert customer.name == "Anna Petrova"
    assert ("telegram", f"{telegram.id}:123456789") in {(c.kind, c.value)
                                                         for c in customer.contacts}


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          None])
def test_a_signed_update_not_sent_as_json_is_refused_and_stores_nothing(helpdesk, telegram,
                                                                        content_type):
    """Telegram sends JSON; a body with the right secret but another type is not its."""
    raw = json.dumps(payload("telegram_text")).encode()
    event = {"httpMethod": "POST", "path": f"/webhooks/telegram/{telegram.id}",
             "headers": {"X-Telegram-Bot-Api-Secret-Token": SECRET,
                         **({"Content-Type": content_type} if content_type else {})},
             "body": raw.decode(), "isBase64Encoded": False}
    answer = webhooks.handler(event, None)
    assert answer["statusCode"] == 415
    assert json.loads(answer["body"])["errors"][0]["code"] == "unsupported_media_type"
    assert tickets(helpdesk) == []
    assert post_webhook(telegram, payload("telegram_text"))["statusCode"] == 200  # as JSON


def test_the_same_update_ten_times_is_one_post(helpdesk, telegram):
    for _ in range(10):
        assert post_webhook(telegram, payload("telegram_text"))["statusCode"] == 200
    (ticket,) = tickets(helpdesk)
    assert len(helpdesk.tickets.messages(admin(helpdesk), ticket.id, "post")) == 1


def test_a_forged_or_unsigned_webhook_is_refused_and_stores_nothing(helpdesk, telegram):
    forged = post_webhook(telegram, payload("telegram_text"),
                          {"X-Telegram-Bot-Api-Secret-Token": "guess"})
    unsigned = post_webhook(telegram, payload("telegram_text"), {})
    assert forged["statusCode"] == 403 and unsigned["statusCode"] == 401
    assert "secret" in json.loads(forged["body"])["errors"][0]["details"].lower()
    assert tickets(helpdesk) == []
    people = helpdesk.repository.people
    assert people.user_by_contact("telegram", f"{telegram.id}:123456789") is None


def test_unknown_or_disabled_channels_answer_404(helpdesk, telegram):
    helpdesk.channels.disable(admin(helpdesk), telegram.id)
    assert post_webhook(telegram, payload("telegram_text"))["statusCode"] == 404
    wrong_type = telegram.model_copy(update={"type": "viber"})
    assert post_webhook(wrong_type, payload("telegram_text"))["statusCode"] == 404
    assert tickets(helpdesk) == []


def test_a_second_message_joins_the_open_ticket_and_an_edit_is_an_event(helpdesk, telegram):
    post_webhook(telegram, payload("telegram_text"))
    second = copy.deepcopy(payload("telegram_text"))
    second["update_id"] += 100
    second["message"]["message_id"] += 1
    second["message"]["text"] = "И сканер тоже"
    post_webhook(telegram, second)
    edited = payload("telegram_edited")
    edited["edited_message"]["message_id"] = second["message"]["message_id"]
    post_webhook(telegram, edited)
    (ticket,) = tickets(helpdesk)
    posts = helpdesk.tickets.messages(admin(helpdesk), ticket.id, "post")
    assert len(posts) == 2 and posts[1].edited
    audit = [event.kind for event in helpdesk.tickets.audit(admin(helpdesk), ticket.id)]
    assert "post_edited_by_author" in audit


def test_a_message_long_after_close_starts_a_new_ticket(helpdesk, telegram, clock):
    post_webhook(telegram, payload("telegram_text"))
    (first,) = tickets(helpdesk)
    helpdesk.tickets.update(admin(helpdesk), first.id, TicketUpdate(status_id="closed"))
    soon = copy.deepcopy(payload("telegram_text"))
    soon["update_id"] += 1
    post_webhook(telegram, soon)
    assert len(tickets(helpdesk)) == 1  # within the reopen window: reopened
    assert helpdesk.tickets.get(admin(helpdesk), first.id).status_id != "closed"
    helpdesk.tickets.update(admin(helpdesk), first.id, TicketUpdate(status_id="closed"))
    clock.advance(days=4)
    later = copy.deepcopy(payload("telegram_text"))
    later["update_id"] += 2
    post_webhook(telegram, later)
    assert len(tickets(helpdesk)) == 2
    assert helpdesk.tickets.get(admin(helpdesk), first.id).status_id == "closed"


def test_the_same_person_by_phone_is_one_customer_across_channels(helpdesk, telegram):
    whatsapp, _ = helpdesk.channels.create(admin(helpdesk), ChannelCreate.model_validate({
        "type": "whatsapp", "name": "WA", "secrets": {
            "token": "wa-token", "app_secret": "wa-app-secret",
            "account_id": "106540352242922"}}))
    own_contact = payload("telegram_contact_own")
    phone = own_contact["message"]["contact"]["phone_number"]
    post_webhook(telegram, own_contact)
    message = payload("whatsapp_text")
    value = message["entry"][0]["changes"][0]["value"]
    value["messages"][0]["from"] = value["contacts"][0]["wa_id"] = phone.lstrip("+")
    body = json.dumps(message).encode()
    signature = hmac.new(b"wa-app-secret", body, hashlib.sha256).hexdigest()
    answer = post_webhook(whatsapp, body, {"X-Hub-Signature-256": f"sha256={signature}"})
    assert answer["statusCode"] == 200, answer["body"]
    opened = tickets(helpdesk)
    assert {t.source for t in opened} == {"telegram", "whatsapp"}
    assert len({t.user_id for t in opened}) == 1  # one customer, found by E.164 phone


def test_a_staff_post_is_sent_back_and_delivery_statuses_follow(helpdesk, telegram,
                                                               fake_providers):
    post_webhook(telegram, payload("telegram_text"))
    (ticket,) = tickets(helpdesk)
    post = helpdesk.tickets.add_message(admin(helpdesk), ticket.id, "post",
                                        MessageCreate(text="Перезагрузите принтер"))
    assert post.delivery.status == "queued" and post.delivery.channel == "telegram"
    outbound = ChannelOutbound(helpdesk, MemoryBlobs())
    delivery = outbound.deliver(ticket.id, post.id)
    assert delivery.status == "sent" and delivery.message_id
    (sent,) = fake_providers.requests_to("/bot123456:ABC-bot-token/sendMessage")
    # chat_id is the ticket's conversation as stored: a string.
    assert sent.json == {"chat_id": "123456789", "text": "Перезагрузите принтер"}
    assert outbound.deliver(ticket.id, post.id).status == "sent"
    assert len(fake_providers.requests_to("/bot123456:ABC-bot-token/sendMessage")) == 1


def test_a_blocked_bot_is_a_failed_delivery_with_the_reason(helpdesk, telegram, fake_providers):
    post_webhook(telegram, payload("telegram_text"))
    (ticket,) = tickets(helpdesk)
    post = helpdesk.tickets.add_message(admin(helpdesk), ticket.id, "post",
                                        MessageCreate(text="Hello"))
    fake_providers.fail_next(1, 403, {"ok": False, "error_code": 403,
                                      "description": "Forbidden: bot was blocked by the user"})
    delivery = ChannelOutbound(helpdesk, MemoryBlobs()).deliver(ticket.id, post.id)
    assert delivery.status == "failed" and "blocked" in delivery.reason
    assert "ABC-bot-token" not in delivery.reason


def test_customer_media_is_fetched_into_the_bucket(helpdesk, telegram, fake_providers):
    photo = payload("telegram_photo")
    largest = photo["message"]["photo"][-1]["file_id"]
    fake_providers.add_file(largest, b"\x89PNG fake", "image/png")
    post_webhook(telegram, photo)
    (ticket,) = tickets(helpdesk)
    (post,) = helpdesk.tickets.messages(admin(helpdesk), ticket.id, "post")
    assert post.media and not post.files
    blobs = MemoryBlobs()
    (stored,) = ChannelOutbound(helpdesk, blobs).fetch_media(ticket.id, post.id)
    assert blobs.get(stored.key) == b"\x89PNG fake"
    (post,) = helpdesk.tickets.messages(admin(helpdesk), ticket.id, "post")
    assert post.files[0].id == stored.id and post.media == []


def test_only_posts_with_work_for_the_delivery_step_ask_the_workflow_for_it(
        helpdesk, telegram, fake_providers):
    """The event tells the workflow whether its delivery step has anything to do: a customer's
    plain text has nothing (the step, its Lambda and its reads are skipped), a photo to fetch
    or a staff reply to send has."""
    post_webhook(telegram, payload("telegram_text"))
    (ticket,) = tickets(helpdesk)
    fake_providers.add_file(payload("telegram_photo")["message"]["photo"][-1]["file_id"],
                            b"\x89PNG fake", "image/png")
    post_webhook(telegram, payload("telegram_photo"))
    helpdesk.tickets.add_message(admin(helpdesk), ticket.id, "post", MessageCreate(text="Hi"))
    events = helpdesk.tickets.audit(admin(helpdesk), ticket.id)
    assert [(e.kind, e.context.get("post_work")) for e in events] == [
        ("created", False), ("post_added", True), ("post_added", True)]


def test_channel_secrets_are_never_shown_in_full(helpdesk, telegram):
    shown = helpdesk.channels.get(admin(helpdesk), telegram.id).model_dump_json()
    assert SECRET not in shown and "123456:ABC-bot-token" not in shown
    assert helpdesk.channels.get(admin(helpdesk), telegram.id).secret_hints["token"].endswith(
        "oken")
    helpdesk.channels.update(admin(helpdesk), telegram.id,
                             ChannelUpdate.model_validate({"secrets": {"token": "new:token-xyz1"}}))
    assert helpdesk.channels.secrets_of(telegram.id).token == "new:token-xyz1"
    assert helpdesk.channels.secrets_of(telegram.id).webhook_secret == SECRET


@pytest.mark.parametrize("attempt", range(10))  # a race: one round proves little
def test_two_first_messages_at_once_make_one_customer_and_one_ticket(dynamodb_table, clock,
                                                                      attempt):
    helpdesk = make_helpdesk(dynamodb_table, clock)
    channel, _ = helpdesk.channels.create(admin(helpdesk), ChannelCreate.model_validate({
        "type": "telegram", "name": "bot", "secrets": {"token": "1:x",
                                                       "webhook_secret": SECRET}}))
    webhooks.helpdesk.use(helpdesk)
    first, second = payload("telegram_text"), copy.deepcopy(payload("telegram_text"))
    second["update_id"] += 1
    second["message"]["message_id"] += 1
    answers = at_once(2, lambda i: post_webhook(channel, (first, second)[i]))
    assert all(isinstance(answer, dict) for answer in answers), answers  # no exception
    assert [answer["statusCode"] for answer in answers] == [200, 200], answers
    (ticket,) = tickets(helpdesk)
    assert len(helpdesk.tickets.messages(admin(helpdesk), ticket.id, "post")) == 2
    assert len(helpdesk.repository.people.users_of_kind("customer")) == 1


def test_viber_delivery_and_read_callbacks_update_our_post(helpdesk, fake_providers):
    viber, _ = helpdesk.channels.create(admin(helpdesk), ChannelCreate.model_validate({
        "type": "viber", "name": "Viber", "secrets": {"token": "viber-auth-token-1"},
        "options": {"api_base_url": fake_providers.url}}))
    webhooks.helpdesk.use(helpdesk)

    def signed(body: dict) -> dict:
        raw = json.dumps(body).encode()
        digest = hmac.new(b"viber-auth-token-1", raw, hashlib.sha256).hexdigest()
        return post_webhook(viber, raw, {"X-Viber-Content-Signature": digest})

    assert signed(payload("viber_text"))["statusCode"] == 200
    (ticket,) = tickets(helpdesk)
    post = helpdesk.tickets.add_message(admin(helpdesk), ticket.id, "post",
                                        MessageCreate(text="We are on it"))
    sent = ChannelOutbound(helpdesk, MemoryBlobs()).deliver(ticket.id, post.id)
    assert sent.status == "sent"
    for event in ("delivered", "seen"):
        callback = payload("viber_delivered") | {"event": event,
                                                 "message_token": int(sent.message_id)}
        assert signed(callback)["statusCode"] == 200
        shown = helpdesk.repository.tickets.get_message("post", ticket.id, post.id).delivery.status
        assert shown == ("delivered" if event == "delivered" else "read")
    late = payload("viber_delivered") | {"message_token": int(sent.message_id),
                                         "timestamp": 1457764199999}
    signed(late)  # a late "delivered" never moves "read" back
    stored = helpdesk.repository.tickets.get_message("post", ticket.id, post.id)
    assert stored.delivery.status == "read"


def test_a_signed_update_of_megabytes_still_becomes_the_customers_message(dynamodb_table, clock):
    """A 5 MB text (no messenger sends one; a forged or broken custom channel may) failed the
    webhook (the post over DynamoDB's 400 KB item limit): no ticket, the provider retrying."""
    helpdesk = make_helpdesk(dynamodb_table, clock)
    channel, _ = helpdesk.channels.create(admin(helpdesk), ChannelCreate.model_validate({
        "type": "telegram", "name": "bot", "secrets": {"token": "1:x",
                                                       "webhook_secret": SECRET}}))
    webhooks.helpdesk.use(helpdesk)
    huge = copy.deepcopy(payload("telegram_text"))
    huge["message"]["text"] = "Принтер " + "ж" * 5_000_000
    huge["message"]["from"]["first_name"] = "A" * 1_000_000
    assert post_webhook(channel, huge)["statusCode"] == 200
    (ticket,) = tickets(helpdesk)
    (post,) = helpdesk.tickets.messages(admin(helpdesk), ticket.id, "post")
    kept = post.text[:post.text.index("\n\n[")]
    assert kept.startswith("Принтер жжж") and len(kept.encode()) <= 249_000
    assert post.text.endswith(f"[{5_000_008 - len(kept):,} more characters were not kept: "
                              "a message keeps 249,000 bytes]")
    assert len(helpdesk.repository.people.get_user(ticket.user_id).name) <= 300
    forged = copy.deepcopy(payload("telegram_text"))
    forged["update_id"] += 1
    forged["message"]["chat"]["id"] = int("9" * 300)
    answer = post_webhook(channel, forged)
    assert answer["statusCode"] == 400 and "longer than 256" in answer["body"]
