"""Tickets, posts, comments and the audit trail (/api/v2/tickets/...)."""

from __future__ import annotations

import math
from typing import Any

from chalice import Blueprint, Response

from api.deps import blobs, current
from api.requests import Query, page_size, paginate, paginate_read, parse, path_id, window
from api.routing import data, endpoint, viewer
from api.views import audit_view, message_view, ticket_view
from helpdesk.inputs import MessageCreate, MessageUpdate, TicketCreate, TicketUpdate
from helpdesk.ticket_pages import SORTS, Paging
from helpdesk.tickets import TicketFilter

tickets = Blueprint(__name__)


def _request() -> Any:
    return tickets.current_request


@endpoint(tickets, "/tickets", ("GET",))
def list_tickets() -> Any:
    query = Query(_request())
    wanted = TicketFilter(
        status_id=query.text("status_id"),
        priority_id=query.number("priority_id"),
        type_id=query.number("type_id"),
        department_id=query.number("department_id"),
        user_id=query.number("user_id"),
        owner_id=query.number("owner_id"),
        created_from=query.moment("created_from"),
        created_to=query.moment("created_to"),
        updated_from=query.moment("updated_from"),
        updated_to=query.moment("updated_to"),
        search=query.text("search"),
        trash=query.flag("trash"),
    )
    staff = viewer().is_staff
    if wanted.search is not None and not wanted.trash:
        # The token index, read for the pages up to this one and one more (not the whole
        # result): `total` is what was read while more follow (`total_is_exact` false).
        _, _, wanted_count = window(query)
        matches, counted = paginate_read(
            current().tickets.list(viewer(), wanted, limit=wanted_count), query)
        return data({str(t.id): ticket_view(t, staff=staff) for t in matches},
                    pagination=counted)
    if wanted.search is not None:  # in the trash: a substring match over the trashed tickets
        matches, counted = paginate(current().tickets.list(viewer(), wanted), query)
        return data({str(t.id): ticket_view(t, staff=staff) for t in matches},
                    pagination=counted)
    page, per_page = page_size(query)
    sort = query.choice("sort", set(SORTS)) or "updated"
    order = query.choice("order", {"asc", "desc"}) or ("asc" if sort == "sla_due" else "desc")
    paging = Paging(per_page=per_page, page=page, cursor=query.text("cursor"), sort=sort,
                    newest_first=order == "desc")
    found = current().tickets.page(viewer(), wanted, paging, query.text("queue"))
    pagination: dict[str, Any] = {
        "total": found.total, "per_page": per_page, "current_page": page,
        "total_pages": max(1, math.ceil(found.total / per_page)),
        "next_cursor": found.next_cursor}
    if not found.total_is_exact:
        pagination["total_is_exact"] = False
    return data({str(t.id): ticket_view(t, staff=staff) for t in found.tickets},
                pagination=pagination)


@endpoint(tickets, "/tickets/queues", ("GET",))
def ticket_queues() -> Any:
    """The viewer's sidebar: each queue he works from with its count."""
    return data([{"queue": alias, "name": name, "count": count}
                 for alias, name, count in current().tickets.queue_counts(viewer())])


@endpoint(tickets, "/tickets", ("POST",))
def create_ticket() -> Any:
    ticket = current().tickets.create(viewer(), parse(TicketCreate, _request()))
    return data(ticket_view(ticket, staff=viewer().is_staff))


@endpoint(tickets, "/tickets/{ticket_id}", ("GET",))
def get_ticket(ticket_id: str) -> Any:
    ticket = current().tickets.get(viewer(), path_id(ticket_id, "ticket_id"))
    return data(ticket_view(ticket, staff=viewer().is_staff))


@endpoint(tickets, "/tickets/{ticket_id}", ("PUT",))
def update_ticket(ticket_id: str) -> Any:
    fields = parse(TicketUpdate, _request())
    ticket = current().tickets.update(viewer(), path_id(ticket_id, "ticket_id"), fields)
    return data(ticket_view(ticket))


@endpoint(tickets, "/tickets/{ticket_id}", ("DELETE",))
def delete_ticket(ticket_id: str) -> Any:
    number = path_id(ticket_id, "ticket_id")
    if Query(_request()).flag("delete"):
        current().tickets.erase(viewer(), number)
        return data({"id": number, "deleted": True})
    current().tickets.trash(viewer(), number)
    return data({"id": number, "deleted": False, "trashed": True})


@endpoint(tickets, "/tickets/{ticket_id}/restore", ("POST",))
def restore_ticket(ticket_id: str) -> Any:
    return data(ticket_view(current().tickets.restore(viewer(), path_id(ticket_id, "ticket_id"))))


@endpoint(tickets, "/tickets/{ticket_id}/files/{file_id}", ("GET",))
def download_file(ticket_id: str, file_id: str) -> Any:
    """A redirect to a short-lived download link of the stored file."""
    file = current().tickets.attachment(viewer(), path_id(ticket_id, "ticket_id"),
                                        path_id(file_id, "file_id"))
    return Response(body="", status_code=302,
                    headers={"Location": blobs().download_url(file.key, file.name)})


@endpoint(tickets, "/tickets/{ticket_id}/audit", ("GET",))
def ticket_audit(ticket_id: str) -> Any:
    query = Query(_request())
    events = current().tickets.audit(viewer(), path_id(ticket_id, "ticket_id"),
                                     limit=window(query)[2])
    shown, pagination = paginate_read(events, query)
    return data(audit_view(shown), pagination=pagination)


def _messages(kind: str, path: str) -> None:
    """Posts and comments share verbs and shapes; comments add `visible`."""

    @endpoint(tickets, path, ("GET",), name=f"list_messages_{kind}")
    def list_messages(ticket_id: str) -> Any:
        query = Query(_request())
        found = current().tickets.messages(viewer(), path_id(ticket_id, "ticket_id"), kind,
                                           limit=window(query)[2])
        page, pagination = paginate_read(found, query)
        return data([message_view(m, kind) for m in page], pagination=pagination)

    @endpoint(tickets, path, ("POST",), name=f"create_message_{kind}")
    def create_message(ticket_id: str) -> Any:
        fields = parse(MessageCreate, _request())
        message = current().tickets.add_message(
            viewer(), path_id(ticket_id, "ticket_id"), kind, fields)
        return data(message_view(message, kind))

    @endpoint(tickets, path + "/{message_id}", ("PUT",), name=f"update_message_{kind}")
    def update_message(ticket_id: str, message_id: str) -> Any:
        fields = parse(MessageUpdate, _request())
        message = current().tickets.update_message(
            viewer(), path_id(ticket_id, "ticket_id"), kind,
            path_id(message_id, f"{kind}_id"), fields)
        return data(message_view(message, kind))

    @endpoint(tickets, path + "/{message_id}", ("DELETE",), name=f"delete_message_{kind}")
    def delete_message(ticket_id: str, message_id: str) -> Any:
        number = path_id(message_id, f"{kind}_id")
        current().tickets.delete_message(viewer(), path_id(ticket_id, "ticket_id"), kind, number)
        return data({"id": number, "deleted": True})


_messages("post", "/tickets/{ticket_id}/posts")
_messages("comment", "/tickets/{ticket_id}/comments")
