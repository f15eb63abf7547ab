"""How domain objects look on the wire (HelpDeskEddy API v2 field names)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from api.shapes import (
    ANY,
    BOOL,
    INT,
    NUMBER,
    STR,
    WHEN,
    FromModel,
    Schema,
    array,
    mapping,
    nullable,
    obj,
)
from helpdesk.dates import format_datetime
from helpdesk.models import (
    DictionaryEntry,
    FieldChange,
    Message,
    Organization,
    Ticket,
    TicketEvent,
    User,
)
from helpdesk.sla.model import Calendar, Policy, TargetState, TicketSla

# What a customer never sees of his tickets or of people: how staff works them. Custom fields
# stay staff-only until they can be marked visible to customers (issue "custom fields").
STAFF_ONLY_TICKET_FIELDS = frozenset({"owner_id", "bcc", "followers", "tags", "custom_fields",
                                      "sla", "sla_policy_id", "sla_date", "ticket_lock",
                                      "spam"})
STAFF_ONLY_USER_FIELDS = frozenset({"department", "group", "group_id", "status", "user_status",
                                    "custom_fields", "contacts"})


def ticket_view(ticket: Ticket, now: datetime | None = None, *,
                staff: bool = True) -> dict[str, Any]:
    """The ticket on the wire; `staff` False: the customer's view of it."""
    view = {
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
        "spam": ticket.spam,
        "sla_policy_id": ticket.sla_policy_id,
        "sla": sla_view(ticket.sla, now or _now()),
    }
    return view if staff else _without(view, STAFF_ONLY_TICKET_FIELDS)


def _split(fields: dict[str, Schema], hidden: frozenset[str]) -> tuple[dict[str, Schema],
                                                                      dict[str, Schema]]:
    """Always-there fields, and those only staff see (optional in the schema)."""
    return ({k: v for k, v in fields.items() if k not in hidden},
            {k: v for k, v in fields.items() if k in hidden})


_SLA_TARGETS: dict[str, Schema] = {
    f"{name}_{part}": shape for name in ("first_reply", "resolution")
    for part, shape in (("due", nullable(WHEN)), ("left_seconds", nullable(INT)),
                        ("breached", BOOL), ("met_at", nullable(WHEN)))}
SLA: Schema = obj({
    "policy_id": nullable(INT), "calendar_id": nullable(INT), "business_hours": BOOL,
    "paused": BOOL, **_SLA_TARGETS, "state": {"enum": [None, "red", "orange", "green"]},
    "figures": obj({
        "first_reply_at": nullable(WHEN), "first_reply_seconds": nullable(NUMBER),
        "first_reply_working_seconds": nullable(NUMBER), "resolved_at": nullable(WHEN),
        "resolution_seconds": nullable(NUMBER), "resolution_working_seconds": nullable(NUMBER),
    }),
})
TICKET: Schema = obj(*_split({
    "id": INT, "pid": INT, "unique_id": STR, "date_created": WHEN, "date_updated": WHEN,
    "title": STR, "source": STR, "status_id": STR, "priority_id": nullable(INT),
    "type_id": INT, "department_id": nullable(INT), "owner_id": INT, "user_id": nullable(INT),
    "user_name": STR, "user_lastname": STR, "user_email": nullable(STR), "cc": array(STR),
    "bcc": array(STR), "followers": array(INT), "tags": array(STR),
    "custom_fields": mapping(), "sla_date": nullable(WHEN), "ticket_lock": BOOL,
    "deleted": BOOL, "spam": BOOL, "sla_policy_id": nullable(INT), "sla": nullable(SLA),
}, STAFF_ONLY_TICKET_FIELDS))


def _without(view: dict[str, Any], hidden: frozenset[str]) -> dict[str, Any]:
    return {name: value for name, value in view.items() if name not in hidden}


def _now() -> datetime:
    from api.deps import current

    return current().clock()


def sla_view(sla: TicketSla | None, now: datetime) -> dict[str, Any] | None:
    """Due times, time left (seconds until due; frozen budget while paused), breached flags
    and the colour: red = resolution missed, orange = first reply missed, else green."""
    if sla is None:
        return None
    paused = sla.paused_since is not None
    view: dict[str, Any] = {"policy_id": sla.policy_id, "calendar_id": sla.calendar_id,
                            "business_hours": sla.business_hours, "paused": paused}
    breached = {}
    for name, state in (("first_reply", sla.first_reply), ("resolution", sla.resolution)):
        breached[name] = _breached(state, now)
        view |= {f"{name}_due": format_datetime(state.due),
                 f"{name}_left_seconds": _left(state, now),
                 f"{name}_breached": breached[name],
                 f"{name}_met_at": format_datetime(state.met_at)}
    has_target = any(s.due or s.left_seconds is not None or s.met_at or s.breached
                     for s in (sla.first_reply, sla.resolution)) or sla.policy_id is not None
    view["state"] = (None if not has_target else "red" if breached["resolution"]
                     else "orange" if breached["first_reply"] else "green")
    figures = sla.figures
    view["figures"] = {
        "first_reply_at": format_datetime(figures.first_reply_at),
        "first_reply_seconds": figures.first_reply_calendar_seconds,
        "first_reply_working_seconds": figures.first_reply_working_seconds,
        "resolved_at": format_datetime(figures.resolved_at),
        "resolution_seconds": figures.resolution_calendar_seconds,
        "resolution_working_seconds": figures.resolution_working_seconds,
    }
    return view


def _breached(state: TargetState, now: datetime) -> bool:
    """Marked by the escalation, or past due already (the scheduler runs every minute)."""
    return state.breached or (state.met_at is None and state.due is not None
                              and now > state.due)


def _left(state: TargetState, now: datetime) -> int | None:
    if state.met_at is not None:
        return None
    if state.due is not None:
        return round((state.due - now).total_seconds())
    return None if state.left_seconds is None else round(state.left_seconds)


def calendar_view(calendar: Calendar) -> dict[str, Any]:
    view = calendar.model_dump(mode="json")
    view["date_created"] = format_datetime(calendar.date_created)
    view["date_updated"] = format_datetime(calendar.date_updated)
    return view


def policy_view(policy: Policy) -> dict[str, Any]:
    view = policy.model_dump(mode="json")
    view["date_created"] = format_datetime(policy.date_created)
    view["date_updated"] = format_datetime(policy.date_updated)
    return view


CALENDAR = FromModel(Calendar, {"date_created": WHEN, "date_updated": WHEN})
POLICY = FromModel(Policy, {"date_created": WHEN, "date_updated": WHEN})


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


MESSAGE: Schema = obj({
    "ticket_id": INT, "id": INT, "user_id": nullable(INT),
    "author_type": {"enum": ["staff", "customer", "rule", "system", "sla"]}, "text": STR,
    "date_created": WHEN, "date_updated": WHEN,
    "files": array(obj({"id": INT, "name": STR, "link": STR, "content_type": STR,
                        "size": INT})),
}, {
    "delivery": obj({"status": STR, "reason": nullable(STR), "channel": STR,
                     "message_id": nullable(STR)}),
    "mail": obj({"from": STR, "message_id": nullable(STR), "quoted": STR,
                 "html": nullable(STR), "automatic": BOOL, "charset_problems": array(STR),
                 "defects": array(STR)}),
    "visible": BOOL,  # comments only
})


def user_view(user: User, *, staff: bool = True) -> dict[str, Any]:
    """A user on the wire; `staff` False: what a customer sees of himself or a colleague."""
    view = {
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
    return view if staff else _without(view, STAFF_ONLY_USER_FIELDS)


USER: Schema = obj(*_split({
    "id": INT, "name": STR, "lastname": STR, "alias": STR, "email": nullable(STR),
    "phone": STR, "skype": STR, "website": STR, "organization": STR, "organiz_id": INT,
    "department": array(INT), "group": obj({"id": INT}), "group_id": INT, "status": STR,
    "language": STR, "notifications": INT, "user_status": nullable(INT),
    "custom_fields": mapping(), "contacts": array(obj({"kind": STR, "value": STR})),
    "date_created": WHEN, "date_updated": WHEN,
}, STAFF_ONLY_USER_FIELDS))
USER["properties"]["api_key"] = STR  # in the answer to a create of staff only: shown once


def audit_view(events: list[TicketEvent]) -> list[dict[str, Any]]:
    """One row per field change: who (staff, customer, rule, system, SLA), what, old, new."""
    rows = []
    for event in events:
        changes: list[FieldChange | None] = [*event.changes] or [None]
        for change in changes:
            rows.append({
                "id": f"{event.event_id}" if change is None else f"{event.event_id}:{change.field}",
                "event_id": event.event_id,
                "action": event.kind,
                "actor_type": event.actor.type.value,
                "actor_id": event.actor.id,
                "actor_name": event.actor.name,
                # set when staff wrote on behalf of the actor (a customer)
                "acting_id": event.actor.acting_id,
                "acting_name": event.actor.acting_name,
                "field": change.field if change else None,
                "old_value": change.old if change else None,
                "new_value": change.new if change else None,
                "date_created": format_datetime(event.at),
                "workflow_status": event.workflow_status,
            })
    return rows


AUDIT_ROW: Schema = obj({
    "id": STR, "event_id": STR, "action": STR, "actor_type": STR, "actor_id": nullable(INT),
    "actor_name": nullable(STR), "acting_id": nullable(INT), "acting_name": nullable(STR),
    "field": nullable(STR), "old_value": ANY, "new_value": ANY, "date_created": WHEN,
    "workflow_status": STR,
})


def entry_view(entry: DictionaryEntry) -> dict[str, Any]:
    return {"id": entry.id, "name": entry.name, **entry.extra}


# Flags of an entry (closed, paused, role, position, managers) come as extra properties.
ENTRY: Schema = obj({"id": {"type": ["integer", "string"]}, "name": mapping(STR)})


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


ORGANIZATION: Schema = obj({
    "id": INT, "name": STR, "domains": array(STR), "address": STR, "phone": STR,
    "email": STR, "web": STR, "minute_limit": INT, "employees": array(INT),
    "managers": array(INT), "custom_fields": mapping(), "date_created": WHEN,
    "date_updated": WHEN,
})
