"""Staff notifications reach people once: mail, Telegram through our bot, Slack."""

from __future__ import annotations

import email
import json
from datetime import timedelta
from email.utils import parsedate_to_datetime

import pytest

from helpdesk.channels.model import ChannelCreate
from helpdesk.delivery import TemporaryFailure
from helpdesk.notify.model import Notification
from helpdesk.notify.sender import StaffNotifier
from tests.channels.test_channel_flow import admin
from tests.webhooks_out.conftest import Reply, allow_only


class RecordingMail:
    def __init__(self) -> None:
        self.sent: list[tuple[str, list[str], bytes]] = []

    def send_raw(self, source: str, destinations: list[str], raw: bytes) -> str:
        self.sent.append((source, destinations, raw))
        return f"ses-{len(self.sent)}"


@pytest.fixture
def mail() -> RecordingMail:
    return RecordingMail()


@pytest.fixture
def notifier(helpdesk, mail) -> StaffNotifier:
    return StaffNotifier(helpdesk, mail, from_address="support@example.com")


def test_email_goes_once_marked_automatic(notifier, mail):
    note = Notification(key="12-3:r1:a0", kind="email", to=["duty@example.com"],
                        subject="New ticket HD-12", text="Printer on fire — срочно")
    assert notifier.send(note).status == "sent"
    assert notifier.send(note).status == "skipped"
    ((source, to, raw),) = mail.sent
    parsed = email.message_from_bytes(raw)
    assert (source, to) == ("support@example.com", ["duty@example.com"])
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed.get_payload(decode=True).decode().strip() == "Printer on fire — срочно"


def test_the_mail_is_dated_by_the_helpdesks_clock(notifier, mail, clock):
    clock.advance(days=400)  # the local stack's clock may be far from the host's
    notifier.send(Notification(key="k-date", kind="email", to=["duty@example.com"],
                               text="x"))
    ((_, _, raw),) = mail.sent
    dated = parsedate_to_datetime(email.message_from_bytes(raw)["Date"])
    assert abs(dated - clock.now) < timedelta(seconds=1)


def test_telegram_through_our_bot(helpdesk, mail, fake_providers):
    channel, _ = helpdesk.channels.create(admin(helpdesk), ChannelCreate.model_validate({
        "type": "telegram", "name": "Staff bot",
        "secrets": {"token": "123456:staff-bot", "webhook_secret": "s" * 20},
        "options": {"api_base_url": fake_providers.url}}))
    # The effects Lambda passes the same list as the helpdesk's (WEBHOOK_ALLOW_HOSTS).
    notifier = StaffNotifier(helpdesk, mail, from_address="support@example.com",
                             allow=helpdesk.webhook_allow)
    note = Notification(key="k1", kind="telegram", channel_id=channel.id, to=["-100500"],
                        text="HD-7 breached")
    assert notifier.send(note).status == "sent"
    (request,) = fake_providers.requests_to("/bot123456:staff-bot/sendMessage")
    assert json.loads(request.body) == {"chat_id": "-100500", "text": "HD-7 breached"}
    missing = Notification(key="k2", kind="telegram", channel_id=999, to=["1"], text="x")
    result = notifier.send(missing)
    assert result.status == "failed" and "not an enabled Telegram channel" in result.reason


def test_slack_retried_while_it_fails_and_refused_for_internal_addresses(
        helpdesk, notifier, receiver, allow_localhost, monkeypatch):
    url = f"http://127.0.0.1:{receiver.server.server_port}/services/T0/B0/x"
    receiver.replies.append(Reply(status=503))
    note = Notification(key="slack-1", kind="slack", url=url, text="New ticket HD-9")
    with pytest.raises(TemporaryFailure):
        notifier.send(note)
    assert notifier.send(note).status == "sent"
    assert [json.loads(r.body) for r in receiver.requests] == [{"text": "New ticket HD-9"}] * 2

    allow_only(monkeypatch, "")
    internal = Notification(key="slack-2", kind="slack", url=url, text="x")
    result = notifier.send(internal)
    assert result.status == "failed" and "loopback" in result.reason
    assert len(receiver.requests) == 2


def test_a_notification_must_say_where_it_goes():
    with pytest.raises(ValueError, match="at least one address"):
        Notification(key="k", kind="email", to=[], text="x")
    with pytest.raises(ValueError, match="channel_id"):
        Notification(key="k", kind="telegram", to=["1"], text="x")
