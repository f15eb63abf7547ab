"""Helpers shared by rules tests: a Telegram staff bot on the fake providers, and the
ticket_event workflow's fan-out (every effect of an event sent through the real senders)."""

from __future__ import annotations

from typing import Any

from helpdesk.channels.model import ChannelCreate
from helpdesk.notify.sender import StaffNotifier
from helpdesk.rules.effects import EffectSender

BOT_TOKEN = "123456:staff-bot"
SEND_MESSAGE = f"/bot{BOT_TOKEN}/sendMessage"


class RecordingMail:
    """The SES port: what staff e-mail notifications would send."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, list[str], bytes]] = []

    def send_raw(self, source: str, destinations: list[str], raw: bytes) -> str:
        self.sent.append((source, destinations, raw))
        return f"ses-{len(self.sent)}"


def telegram_bot(desk: Any, fake_providers: Any) -> Any:
    channel, _ = desk.helpdesk.channels.create(desk.admin, ChannelCreate.model_validate({
        "type": "telegram", "name": "Staff bot",
        "secrets": {"token": BOT_TOKEN, "webhook_secret": "s" * 20},
        "options": {"api_base_url": fake_providers.url}}))
    return channel


def fan_out(desk: Any, mail: RecordingMail) -> EffectSender:
    """The effects Lambda for staff notifications; webhooks and customer mail must not come
    up in these tests."""

    def no_webhook(name: str, task: dict[str, Any]) -> bool:
        raise AssertionError(f"unexpected webhook {name}")

    def no_customer_mail() -> Any:
        raise AssertionError("unexpected mail to the customer")

    return EffectSender(desk.helpdesk, start_webhook=no_webhook,
                        customer_mail=no_customer_mail,
                        notifier=lambda: StaffNotifier(desk.helpdesk, mail,
                                                       from_address="support@example.com",
                                                       allow=desk.helpdesk.webhook_allow))


def send_effects(desk: Any, sender: EffectSender, results: list[dict[str, Any]]) -> list[str]:
    """Send the effects of these rule runs (`Desk.results` items) as the workflow does; the
    status of each send."""
    statuses = []
    for result in results:
        ticket_id, _, version = result["event_id"].partition("-")
        for effect in result["effects"]:
            statuses.append(sender.send(effect, int(ticket_id), int(version))["status"])
    return statuses
