"""Which queues a ticket is in: the lists agents work from, each one index query.

Pure: decided from the ticket alone (and whether its status is closed). The store writes one
entry per queue name (`store/queue_entries.py`) and moves each queue's counter with it, in the
ticket change's transaction.

Queue names: `all`, `status:<status>`, `owner:<staff id>`, `unassigned` (no owner, status not
closed), `source:<channel kind>`, `customer:<user id>`, `org:<organization id>`, `tag:<tag>`,
`follower:<staff id>`, `mention:<staff id>`, `sla:green|orange|red`, `trash`, `spam`.
A trashed ticket is only in `trash`; a spam ticket (not trashed) only in `spam`.

Every membership is written twice: global (admins query it) and scoped to the ticket's
department, `<queue>@d<department>` (an agent sees his departments' tickets only: he queries
one scoped name per department he belongs to and the answers are merged).

A ticket change must fit one DynamoDB transaction (100 items), so the open-ended kinds are
bounded: the first `TAGS_QUEUED` tags, the first `FOLLOWERS_QUEUED` followers and the last
`MENTIONS_QUEUED` mentioned staff get entries (the ticket keeps all of them; filtering by a
tag beyond the bound still works through a list's in-memory filters).
"""

from __future__ import annotations

from helpdesk.models import Ticket

TAGS_QUEUED = 8
FOLLOWERS_QUEUED = 3
MENTIONS_QUEUED = 3
SLA_COLOURS = ("red", "orange", "green")


def scoped(queue: str, department_id: int) -> str:
    return f"{queue}@d{department_id}"


def sla_colour(ticket: Ticket) -> str | None:
    """red: a target breached and not met; orange: warned; green: a clock runs."""
    sla = ticket.sla
    if sla is None:
        return None
    open_targets = [t for t in (sla.first_reply, sla.resolution) if t.met_at is None]
    if any(t.breached for t in open_targets):
        return "red"
    if any(t.warned for t in open_targets):
        return "orange"
    if sla.paused_since is None and any(t.due is not None for t in open_targets):
        return "green"
    return None


def global_memberships(ticket: Ticket, *, closed: bool) -> frozenset[str]:
    if ticket.trashed:
        return frozenset({"trash"})
    if ticket.spam:
        return frozenset({"spam"})
    names = {"all", f"status:{ticket.status_id}", f"source:{ticket.source}"}
    if ticket.owner_id is not None:
        names.add(f"owner:{ticket.owner_id}")
    elif not closed:
        names.add("unassigned")
    if ticket.user_id is not None:
        names.add(f"customer:{ticket.user_id}")
    if ticket.organization_id is not None:
        names.add(f"org:{ticket.organization_id}")
    colour = sla_colour(ticket)
    if colour is not None:
        names.add(f"sla:{colour}")
    names.update(f"tag:{tag}" for tag in ticket.tags[:TAGS_QUEUED])
    names.update(f"follower:{staff}" for staff in ticket.followers[:FOLLOWERS_QUEUED])
    names.update(f"mention:{staff}" for staff in ticket.mentioned[-MENTIONS_QUEUED:])
    return frozenset(names)


def memberships(ticket: Ticket, *, closed: bool) -> frozenset[str]:
    """Every queue name the ticket has an entry in: global and department-scoped."""
    names = global_memberships(ticket, closed=closed)
    if ticket.department_id is None:
        return names
    return names | {scoped(name, ticket.department_id) for name in names}
