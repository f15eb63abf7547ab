"""Send one effect of a ticket event (an item of the ticket_event workflow's fan-out).

- `webhook`: start the outbound_webhook workflow for one subscription, named after the
  effect's key, so a repeated fan-out starts nothing new (Step Functions refuses the name).
- `customer_email`: an automatic mail to the customer (acknowledgement, reminder) through
  the mail channel's guard: never to automatic mail, one per address per day.
- `notify`: a staff notification (email, Telegram, Slack), de-duplicated on its key.

Transports come in as ports, so this module knows no AWS."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from helpdesk.delivery import PermanentFailure
from helpdesk.models import Delivery, Ticket, TicketEvent
from helpdesk.stored import EventPosts

if TYPE_CHECKING:
    from helpdesk.store.repository import Repository

WEBHOOK_TICKET_FIELDS = (
    "id", "unique_id", "title", "source", "status_id", "priority_id", "type_id",
    "department_id", "owner_id", "user_id", "user_email", "tags", "custom_fields",
    "channel_id", "date_created", "date_updated", "version", "sla_date", "sla")


class StartWebhook(Protocol):
    def __call__(self, name: str, task: dict[str, Any]) -> bool:
        """Start an outbound_webhook run; False when one with this name exists already."""
        ...


class CustomerMail(Protocol):
    def send_automatic(self, ticket_id: int, text: str, *, key: str, now: datetime,
                       answering_post_id: int | None = None) -> Delivery: ...


class Notifier(Protocol):
    def send(self, notification: Any) -> Any: ...


class EffectsDesk(Protocol):
    """What sending effects needs of the helpdesk: the event and ticket in storage, the
    post behind a rules' cause, and the clock."""

    @property
    def repository(self) -> Repository: ...

    @property
    def tickets(self) -> EventPosts: ...

    def clock(self) -> datetime: ...


class EffectSender:
    def __init__(self, helpdesk: EffectsDesk, *, start_webhook: StartWebhook,
                 customer_mail: Callable[[], CustomerMail],
                 notifier: Callable[[], Notifier]) -> None:
        self.helpdesk = helpdesk
        self._start_webhook = start_webhook
        self._customer_mail = customer_mail
        self._notifier = notifier

    def send(self, effect: dict[str, Any], ticket_id: int, version: int) -> dict[str, Any]:
        kind = effect.get("type")
        if kind == "webhook":
            return self._webhook(effect, ticket_id, version)
        if kind == "customer_email":
            return self._customer_email(effect, ticket_id, version)
        if kind == "notify":
            from helpdesk.notify.model import Notification

            result = self._notifier().send(Notification.model_validate(effect["notification"]))
            return {"status": result.status, "reason": result.reason}
        raise PermanentFailure(f"unknown effect type {kind!r}")

    def _webhook(self, effect: dict[str, Any], ticket_id: int, version: int) -> dict[str, Any]:
        repository = self.helpdesk.repository
        event = repository.tickets.event(ticket_id, version)
        ticket = repository.tickets.get_ticket(ticket_id)
        if event is None:
            return {"status": "skipped", "reason": "the event is gone"}
        key = str(effect["key"])
        name = "wh-" + re.sub(r"[^A-Za-z0-9_-]", "_", key)[:76]
        started = self._start_webhook(name, {
            "subscription_id": int(effect["subscription_id"]), "delivery_id": key,
            "event": webhook_payload(event, ticket)})
        return {"status": "started" if started else "already started", "execution": name}

    def _customer_email(self, effect: dict[str, Any], ticket_id: int,
                        version: int) -> dict[str, Any]:
        event = self.helpdesk.repository.tickets.event(ticket_id, version)
        cause = event.context.get("cause", "") if event else ""
        answering = _post_of(self.helpdesk.tickets, str(cause))
        delivery = self._customer_mail().send_automatic(
            ticket_id, str(effect["text"]), key=str(effect["key"]), now=self.helpdesk.clock(),
            answering_post_id=answering)
        return {"status": delivery.status, "reason": delivery.reason,
                "message_id": delivery.message_id}


def webhook_payload(event: TicketEvent, ticket: Ticket | None) -> dict[str, Any]:
    """What an integrator receives: the event and the ticket as it is now."""
    return {
        "type": event.kind, "event_id": event.event_id, "ticket_id": event.ticket_id,
        "version": event.version, "at": event.at.isoformat(),
        "actor": event.actor.model_dump(mode="json"),
        "changes": [c.model_dump(mode="json") for c in event.changes],
        "ticket": ticket.model_dump(mode="json", include=set(WEBHOOK_TICKET_FIELDS))
        if ticket else None,
    }


def _post_of(tickets: EventPosts, cause: str) -> int | None:
    """The customer's post behind the event that made the rules fire (`<ticket>-<version>`),
    so an acknowledgement never answers an automatic mail."""
    ticket_id, _, version = cause.partition("-")
    if not (ticket_id.isdigit() and version.isdigit()):
        return None
    return tickets.post_of_event(int(ticket_id), int(version))
