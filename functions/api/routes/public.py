"""Endpoints the public reaches without an API key: the web-chat visitor, the site form,
the PBX. Each authenticates by what it holds (a session token, a form channel id, a channel
key) and is rate-limited per IP (and per session) in the domain."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from api.deps import current
from api.requests import parse, path_id
from api.routing import data, endpoint
from api.shapes import INT, ISO_WHEN, STR, Schema, nullable, obj
from helpdesk.channels.telephony import CallEvent, Telephony
from helpdesk.channels.web import FormSubmission, VisitorMessage, VisitorStart, WebEntry

public = Blueprint(__name__)
PUBLIC_PATHS = {"/chat/visitor/id", "/chat/visitor/messages", "/forms/{channel_id}",
                "/telephony/calls/{channel_key}"}

VISITOR: Schema = obj({"id": STR})  # the session token, shown once
SAID: Schema = obj({"id": nullable(INT), "status": STR})
CHAT_LINE: Schema = obj({"id": INT, "text": STR, "from": {"enum": ["visitor", "agent"]},
                         "name": STR, "date": ISO_WHEN})
FORM_SENT: Schema = obj({"status": STR, "ticket": nullable(STR)})  # the ticket's unique id
CALL_HANDLED: Schema = obj({"status": STR, "ticket_id": nullable(INT),
                            "post_id": nullable(INT)})


def _ip() -> str:
    identity = public.current_request.context.get("identity") or {}
    return str(identity.get("sourceIp") or "unknown")


def _session() -> str:
    headers: Any = public.current_request.headers or {}
    return str(headers.get("x-chat-session") or "")


@endpoint(public, "/chat/visitor/id", ("POST",))
def start_visitor() -> Any:
    fields = parse(VisitorStart, public.current_request)
    return data({"id": WebEntry(current()).start_visitor(fields, _ip())})


@endpoint(public, "/chat/visitor/messages", ("POST",))
def visitor_says() -> Any:
    fields = parse(VisitorMessage, public.current_request)
    outcome = WebEntry(current()).visitor_says(_session(), fields, _ip())
    return data({"id": outcome.post_id, "status": outcome.outcome})


@endpoint(public, "/chat/visitor/messages", ("GET",))
def visitor_reads() -> Any:
    return data([line.view() for line in WebEntry(current()).visitor_reads(_session(), _ip())])


@endpoint(public, "/forms/{channel_id}", ("POST",))
def submit_form(channel_id: str) -> Any:
    fields = parse(FormSubmission, public.current_request)
    outcome = WebEntry(current()).submit_form(path_id(channel_id, "channel_id"), fields, _ip())
    ticket = (current().repository.tickets.get_ticket(outcome.ticket_id)
              if outcome.ticket_id else None)
    return data({"status": outcome.outcome,
                 "ticket": ticket.unique_id if ticket else None})


@endpoint(public, "/telephony/calls/{channel_key}", ("POST",))
def call_event(channel_key: str) -> Any:
    fields = parse(CallEvent, public.current_request)
    outcome = Telephony(current()).handle(channel_key, fields, _ip())
    return data({"status": outcome.outcome, "ticket_id": outcome.ticket_id,
                 "post_id": outcome.post_id})
