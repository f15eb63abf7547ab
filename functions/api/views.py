"""How domain objects look on the wire (HelpDeskEddy API v2 field names)."""

from __future__ import annotations

from typing import Any

from helpdesk.dates import format_datetime
from helpdesk.models import DictionaryEntry, Message, Organization, Ticket, TicketEvent, User


def ticket_view(ticket: Ticket) -> dict[str, Any]:
    return {
        "id": ticket.id,
        "pid": ticket.pid or 0,
        "unique_id": ticket.unique_id,
        "date_created": format_datetime(ticket.date_created),
        "date_updated": format_datetime(ticket.date_updated),
        "title": ticket.title,
        "source": ticket.source,
        "status_id": ticket.status_id,
        "priority_id": ticket.priority_id,
        "type_id": ticket.type_id or 0,
        "department_id": ticket.department_id,
        "owner_id": ticket.owner_id or 0,
        "user_id": ticket.user_id,
        "user_name": ticket.user_name,
        "user_lastname": ticket.user_lastname,
        "user_email": ticket.user_email,
        "cc": ticket.cc,
        "bcc": ticket.bcc,
        "followers": ticket.followers,
        "tags": ticket.tags,
        "custom_fields": ticket.custom_fields,
        "sla_date": format_datetime(ticket.sla_date),
        "ticket_lock": ticket.ticket_lock,
        "deleted": ticket.trashed,
    }


def message_view(message: Message, kind: str) -> dict[str, Any]:
    view: dict[str, Any] = {
        "ticket_id": message.ticket_id,
        "id": message.id,
        "user_id": message.user_id,
        "author_type": message.author_type.value,
        "text": message.text,
        "date_created": format_datetime(message.date_created),
        "date_updated": format_datetime(message.date_updated),
        "files": [{"id": f.id, "name": f.name, "link": f.link, "content_type": f.content_type,
                   "size": f.size} for f in message.files],
    }
    if message.delivery is not None:
        view["delivery"] = {"status": message.delivery.status, "reason": message.delivery.reason,
                            "channel": message.delivery.channel,
                            "message_id": message.delivery.message_id}
    if message.mail is not None:
        view["mail"] = {"from": message.mail.sender, "message_id": message.mail.message_id,
                        "quoted": message.mail.quoted, "html": message.mail.html,
                        "automatic": message.mail.auto_submitted,
                        "charset_problems": message.mail.charset_problems,
                        "defects": message.mail.defects}
    if kind == "comment":
        view["visible"] = message.visible
    return view


def user_view(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "name": user.name,
        "lastname": user.lastname,
        "alias": user.alias,
        "email": user.email,
        "phone": user.phone,
        "skype": user.skype,
        "website": user.website,
        "organization": user.organization,
        "organiz_id": user.organiz_id or 0,
        "department": user.department,
        "group": {"id": user.group_id},
        "group_id": user.group_id,
        "status": user.status,
        "language": user.language,
        "notifications": user.notifications,
        "user_status": user.user_status,
        "custom_fields": user.custom_fields,
        "contacts": [contact.model_dump() for contact in user.contacts],
        "date_created": format_datetime(user.date_created),
        "date_updated": format_datetime(user.date_updated),
    }


def audit_view(events: list[TicketEvent]) -> list[dict[str, Any]]:
    """One row per field change: who (staff, customer, rule, system, SLA), what, old, new."""
    rows = []
    for event in events:
        for change in event.changes or [None]:
            rows.append({
                "id": f"{event.event_id}" if change is None else f"{event.event_id}:{change.field}",
                "event_id": event.event_id,
                "action": event.kind,
                "actor_type": event.actor.type.value,
                "actor_id": event.actor.id,
                "actor_name": event.actor.name,
                "field": change.field if change else None,
                "old_value": change.old if change else None,
                "new_value": change.new if change else None,
                "date_created": format_datetime(event.at),
                "workflow_status": event.workflow_status,
            })
    return rows


def entry_view(entry: DictionaryEntry) -> dict[str, Any]:
    return {"id": entry.id, "name": entry.name, **entry.extra}


def organization_view(organization: Organization, employees: list[int]) -> dict[str, Any]:
    return {
        "id": organization.id,
        "name": organization.name,
        "domains": organization.domains,
        "address": organization.address,
        "phone": organization.phone,
        "email": organization.email,
        "web": organization.web,
        "minute_limit": organization.minute_limit,
        "employees": employees,
        "managers": organization.managers,
        "custom_fields": organization.custom_fields,
        "date_created": format_datetime(organization.date_created),
        "date_updated": format_datetime(organization.date_updated),
    }
