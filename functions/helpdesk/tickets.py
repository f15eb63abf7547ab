"""Ticket lifecycle: create, change, trash, posts and comments, audit trail.

Every change is one transaction: the ticket (conditional on the version read), an event item
numbered by the new version (the audit entry, and what starts the ticket_event workflow from
the table's stream) and the post/comment written with it. A concurrent writer makes the
transaction fail; the change is then applied again to the fresh ticket, never lost.
"""

from __future__ import annotations

import builtins
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from helpdesk.access import Viewer
from helpdesk.changes import Claim, MessageKind, TicketChange
from helpdesk.dictionaries import DEFAULT_DEPARTMENT, DEFAULT_PRIORITY, Dictionaries
from helpdesk.errors import Conflict, Forbidden, InvalidInput, NotFound, UnknownReference
from helpdesk.inputs import MessageCreate, MessageUpdate, TicketCreate, TicketFields, TicketUpdate
from helpdesk.models import (
    Actor,
    ActorType,
    Attachment,
    Delivery,
    FieldChange,
    MailOrigin,
    MediaRef,
    Message,
    Role,
    Ticket,
    TicketEvent,
    User,
    UserKind,
)
from helpdesk.notify.mentions import mentioned_staff
from helpdesk.queues import MENTIONS_QUEUED, SLA_COLOURS, memberships, scoped
from helpdesk.search.queries import SEARCH_RESULTS, Search
from helpdesk.sla.tracker import SlaTracker, protected_tags
from helpdesk.store import keys
from helpdesk.store.collection import StaleVersion
from helpdesk.store.queue_entries import Placement
from helpdesk.store.repository import Repository
from helpdesk.store.table import KeyRange
from helpdesk.store.ticket_records import QueueMove
from helpdesk.ticket_pages import MAX_WINDOW, Paging, Plan, TicketPage, fingerprint, read_page
from helpdesk.users import Users

MAX_ATTEMPTS = 5
# What a customer may say when he opens a ticket; status, priority, owner, department, tags,
# followers and the rest come from defaults and rules (issue "Hardening"). Custom fields join
# once they can be marked customer-editable.
CUSTOMER_CREATES = frozenset({"title", "description", "cc"})
_SYSTEM_VIEWER = Viewer(user=User(id=0, kind=UserKind.STAFF, group_id=1, name="System"),
                        role=Role.ADMIN)
FILES_PER_MESSAGE = 1000  # file id = message id * 1000 + n: the id says where the file is
THREAD_MEMORY = 20  # Message-IDs kept for References of our replies
REOPENED_STATUS = "open"

C = TypeVar("C", bound=TicketChange)
# Edits the ticket it is given and says what else the change writes. Runs again on the fresh
# ticket when a concurrent write won, so it decides from what it is given only.
Mutation = Callable[[Ticket], C]


@dataclass
class Inbound:
    """A message arriving from outside: written with the ticket change in one transaction,
    together with its `claims` (the keys that make it be stored once and threaded)."""

    author: User
    text: str
    mail: MailOrigin | None = None
    files: list[Attachment] = field(default_factory=list)
    message_id: int | None = None  # allocated beforehand when attachments are named after it
    claims: list[Claim] = field(default_factory=list)
    context: dict[str, Any] = field(default_factory=dict)  # for rules: channel, automatic
    thread_id: str | None = None  # the mail's Message-ID, remembered for replies
    auto_reply: bool = False  # an out-of-office or similar: neither reopens nor leads the thread
    channel_id: int | None = None  # messenger/web/phone tickets: the channel ...
    conversation: str | None = None  # ... and where on it replies go
    media: list[MediaRef] = field(default_factory=list)
    provider_message_id: str | None = None
    cc: list[str] = field(default_factory=list)  # a mail's other recipients, kept in copy


@dataclass
class TicketFilter:
    status_id: str | None = None
    priority_id: int | None = None
    type_id: int | None = None
    department_id: int | None = None
    user_id: int | None = None
    owner_id: int | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    updated_from: datetime | None = None
    updated_to: datetime | None = None
    search: str | None = None
    trash: bool = False


class Tickets:
    def __init__(
        self,
        repository: Repository,
        dictionaries: Dictionaries,
        users: Users,
        sla: SlaTracker,
        clock: Callable[[], datetime],
        prefix: str = "HD",
    ) -> None:
        self._repository = repository
        self._dictionaries = dictionaries
        self._users = users
        self._clock = clock
        self._prefix = prefix
        self.sla = sla

    # --- reading ---------------------------------------------------------------------------
    def get(self, viewer: Viewer, ticket_id: int) -> Ticket:
        return viewer.require_ticket(self._repository.tickets.get_ticket(ticket_id), ticket_id)

    def list(self, viewer: Viewer, wanted: TicketFilter,
             limit: int = SEARCH_RESULTS) -> list[Ticket]:
        """Newest update first. One index query picks the candidates (the most selective
        filter given); the remaining filters are applied to them. A search (`limit`: the
        results wanted, at most SEARCH_RESULTS) reads the token index for that many only."""
        if wanted.search and not wanted.trash:  # the token index (helpdesk/search/queries.py)
            found = Search.on(self._repository).tickets(
                viewer, wanted.search, min(limit, SEARCH_RESULTS)).items
            rest = dataclasses.replace(wanted, search=None)
            return [ticket for ticket in found if _matches(ticket, rest, str)]
        return [
            ticket
            for ticket in self._candidates(viewer, wanted)
            if viewer.can_see(ticket) and _matches(ticket, wanted, self._search_text_of)
        ]

    def page(self, viewer: Viewer, wanted: TicketFilter, paging: Paging,
             queue: str | None = None) -> TicketPage:
        """One page of a list driven by one queue (see ticket_pages.py): `queue` an alias
        (`mine`, `unassigned`, `open`, `tag:<t>`...; see `queue_name`), else the filters pick
        it (trash, owner, requester, status, all), scoped to the department asked for or to
        an agent's departments. What the queue does not answer is filtered in memory."""
        if paging.page * paging.per_page > MAX_WINDOW:
            raise InvalidInput(f"page * per_page may not exceed {MAX_WINDOW}: use the cursor "
                               "of the previous page (pagination.next_cursor)", field="page")
        plan = self._plan(viewer, wanted, paging, queue)
        if not plan.queues:  # an agent asking for a department not his
            return TicketPage([], None, 0, True)
        totals = self._repository.tickets.queues.counts(plan.queues)
        tickets, next_cursor = read_page(self._repository.tickets, plan, paging)
        return TicketPage([t for t in tickets if viewer.can_see(t)], next_cursor,
                          sum(totals.values()), plan.exact_total)

    def queue_name(self, viewer: Viewer, alias: str) -> str:
        """The queue an agent-facing name means for the viewer: `mine`, `mentioned`,
        `followed` (his), `unassigned`, `all`, `trash`, `spam`, a status id (`open`...) or a
        queue name (`status:<s>`, `owner:<id>`, `tag:<t>`, `source:<s>`, `sla:red|orange|
        green`, `customer:<id>`, `org:<id>`)."""
        if viewer.role is Role.CUSTOMER:
            raise Forbidden("customers list their own tickets; queues are for staff",
                            field="queue")
        own = {"mine": "owner", "mentioned": "mention", "followed": "follower"}
        if alias in own:
            return f"{own[alias]}:{viewer.user.id}"
        if alias in ("unassigned", "all", "trash", "spam"):
            return alias
        kind, colon, value = alias.partition(":")
        if not colon and self._dictionaries.get("statuses", alias) is not None:
            return f"status:{alias}"
        numeric = kind in ("owner", "customer", "org", "follower", "mention")
        if colon and value and (
                (kind in ("status", "tag", "source")) or (numeric and value.isdigit())
                or (kind == "sla" and value in SLA_COLOURS)):
            return alias
        raise InvalidInput(f"queue {alias!r} is not one of mine, unassigned, all, mentioned, "
                           "followed, trash, spam, a status or status:, owner:, tag:, "
                           "source:, sla:, customer:, org:<value>", field="queue")

    def queue_counts(self, viewer: Viewer) -> builtins.list[tuple[str, str, int]]:
        """The viewer's sidebar: (alias, queue name, count) of each queue he works from,
        from the counters (one BatchGetItem); an agent's counts add up his departments'."""
        viewer.require_staff("see the queues")
        statuses = [str(entry.id) for entry in self._dictionaries.list("statuses")]
        aliases = ["all", "mine", "unassigned", *statuses, "mentioned", "followed",
                   *(f"sla:{colour}" for colour in SLA_COLOURS), "spam", "trash"]
        named = [(alias, self.queue_name(viewer, alias)) for alias in aliases]
        scopes = {name: self._scoped(viewer, name, None) for _, name in named}
        counts = self._repository.tickets.queues.counts(
            [queue for queues in scopes.values() for queue in queues])
        return [(alias, name, sum(counts[queue] for queue in scopes[name]))
                for alias, name in named]

    def index(self, ticket_id: int) -> bool:
        """Write the queue entries of a ticket stored before queues existed (upgrades);
        False when it had them. Safe to repeat: the ticket is marked in the same write."""
        ticket = self._repository.tickets.get_ticket(ticket_id)
        if ticket is None:
            raise NotFound(f"ticket {ticket_id} does not exist")
        return self._repository.tickets.index_ticket(ticket, self._memberships(ticket))

    def index_all(self, viewer: Viewer) -> int:
        """The upgrade path (admins): queue entries for every ticket stored before queues,
        one ticket at a time (ids up to the last handed out); how many got them. Tickets
        changing meanwhile get theirs from that change."""
        viewer.require_admin("index tickets")
        indexed = 0
        for ticket_id in range(1, self._repository.ids.last_id("ticket") + 1):
            ticket = self._repository.tickets.get_ticket(ticket_id)
            if ticket is None or ticket.queued:
                continue
            try:
                indexed += self._repository.tickets.index_ticket(ticket,
                                                                 self._memberships(ticket))
            except StaleVersion:
                continue
        return indexed

    def _memberships(self, ticket: Ticket) -> frozenset[str]:
        return memberships(ticket, closed=self.is_closed(ticket.status_id))

    def _placement(self, ticket: Ticket) -> Placement:
        """The queues the ticket's stored entries are in (none before it was queued)."""
        return Placement(ticket, self._memberships(ticket) if ticket.queued else frozenset())

    def _scoped(self, viewer: Viewer, name: str,
                department_id: int | None) -> builtins.list[str]:
        """The queue names to read for `name`: global for an admin, per department for an
        agent (only his), one department's when asked for."""
        if viewer.role is Role.AGENT:
            departments = viewer.user.department if department_id is None else [
                d for d in viewer.user.department if d == department_id]
            return [scoped(name, department) for department in departments]
        return [name if department_id is None else scoped(name, department_id)]

    def _plan(self, viewer: Viewer, wanted: TicketFilter, paging: Paging,
              queue: str | None) -> Plan:
        rest = TicketFilter(**vars(wanted))
        rest.search = None
        rest.trash = False
        if wanted.trash:
            viewer.require_staff("see the trash")
            name = "trash"
        elif viewer.role is Role.CUSTOMER:
            if queue is not None:
                self.queue_name(viewer, queue)  # refused
            name = f"customer:{viewer.user.id}"
        elif queue is not None:
            name = self.queue_name(viewer, queue)
            if name in ("trash", "spam"):
                viewer.require_staff(f"see the {name}")
        elif wanted.owner_id is not None:
            name, rest.owner_id = f"owner:{wanted.owner_id}", None
        elif wanted.user_id is not None:
            name, rest.user_id = f"customer:{wanted.user_id}", None
        elif wanted.status_id is not None:
            name, rest.status_id = f"status:{wanted.status_id}", None
        else:
            name = "all"
        if viewer.role is Role.CUSTOMER:
            queues = [name]
        else:
            queues = self._scoped(viewer, name, wanted.department_id)
            rest.department_id = None
        key_range = KeyRange()
        if paging.sort == "created" and (wanted.created_from or wanted.created_to):
            key_range = _stamp_range(wanted.created_from, wanted.created_to)
            rest.created_from = rest.created_to = None
        elif paging.sort == "updated" and (wanted.updated_from or wanted.updated_to):
            key_range = _stamp_range(wanted.updated_from, wanted.updated_to)
            rest.updated_from = rest.updated_to = None
        index_sort = None
        if (paging.sort == "updated" and wanted.priority_id is not None
                and key_range == KeyRange()):
            # One priority is a prefix of the priority index, ordered by update within it.
            rank = keys.priority_rank(wanted.priority_id)
            key_range, index_sort = KeyRange(low=f"{rank}#", high=f"{rank}#~"), "priority"
            rest.priority_id = None
        left = rest != TicketFilter()
        keep = (lambda ticket: _matches(ticket, rest, self._search_text_of)) if left else None
        exact = not left and key_range == KeyRange() and paging.sort != "sla_due"
        print_ = fingerprint(viewer.user.id, vars(wanted), queue, paging.sort,
                             paging.newest_first)
        return Plan(queues, key_range, keep, print_, exact, index_sort)

    def _search_text_of(self, ticket: Ticket) -> str:
        stored = self._repository.tickets.search_text(ticket.id)
        return ticket.search_text if stored is None else stored  # older tickets kept it inline

    def messages(self, viewer: Viewer, ticket_id: int, kind: str,
                 limit: int | None = None) -> builtins.list[Message]:
        """Oldest first; the first `limit` only when given."""
        self.get(viewer, ticket_id)
        if kind == "comment":
            viewer.require_staff("read private comments")
        return self._repository.tickets.messages(kind, ticket_id, limit)

    def attachment(self, viewer: Viewer, ticket_id: int, file_id: int) -> Attachment:
        """A file of a post (or, for staff, of a comment) of a ticket one may see."""
        self.get(viewer, ticket_id)
        kinds = ("post", "comment") if viewer.is_staff else ("post",)
        for kind in kinds:
            message = self._repository.tickets.get_message(kind, ticket_id,
                                                           file_id // FILES_PER_MESSAGE)
            for file in message.files if message else []:
                if file.id == file_id:
                    return file
        raise NotFound(f"file {file_id} does not exist in ticket {ticket_id}")

    def audit(self, viewer: Viewer, ticket_id: int,
              limit: int | None = None) -> builtins.list[TicketEvent]:
        """Oldest first; the first `limit` events only when given."""
        self.get(viewer, ticket_id)
        viewer.require_staff("read the audit trail")
        return self._repository.tickets.events(ticket_id, limit)

    def post_of_event(self, ticket_id: int, version: int) -> int | None:
        """The post a ticket event added, if it added one (workflows act on it)."""
        event = self._repository.tickets.event(ticket_id, version)
        if event is None or event.kind not in ("post_added", "created"):
            return None
        if event.kind == "created":
            posts = self._repository.tickets.messages("post", ticket_id)
            return posts[0].id if posts else None
        return next((c.new for c in event.changes if c.field == "post"), None)

    # --- creating --------------------------------------------------------------------------
    def create(self, viewer: Viewer, fields: TicketCreate) -> Ticket:
        if not viewer.is_staff:
            refused = sorted(fields.model_fields_set - CUSTOMER_CREATES)
            if refused:
                raise Forbidden(f"a customer's request sets no {', '.join(refused)}; "
                                "staff and rules decide those", field=refused[0])
        requester = self._requester(viewer, fields)
        if fields.pid is not None:
            self.get(viewer, fields.pid)
        department = fields.department_id or (
            viewer.user.department[0]
            if viewer.role is Role.AGENT and viewer.user.department
            else DEFAULT_DEPARTMENT
        )
        if viewer.role is Role.AGENT and department not in viewer.user.department:
            raise Forbidden(f"you are not in department {department}", field="department_id")
        first = None
        if fields.description:
            first = Inbound(author=requester, text=fields.description)
        return self._open(requester, fields, department, first, viewer.actor)[0]

    def open_with_message(self, fields: TicketCreate, inbound: Inbound,
                          department_id: int | None = None,
                          ticket_id: int | None = None) -> tuple[Ticket, Message]:
        """A ticket opened by a customer's message on a channel (mail, messenger)."""
        author = inbound.author
        actor = Actor(type=ActorType.CUSTOMER if author.kind is UserKind.CUSTOMER
                      else ActorType.STAFF, id=author.id, name=author.name)
        ticket, message = self._open(author, fields, department_id or DEFAULT_DEPARTMENT,
                                     inbound, actor, ticket_id)
        assert message is not None
        return ticket, message

    def add_inbound(self, ticket_id: int, inbound: Inbound,
                    read: Ticket | None = None) -> Message:
        """A customer's message joining an existing ticket (reopens it when closed). `read`:
        the ticket as the caller just read it (threading; changed in place): the first attempt
        starts from it instead of reading it again; the version check still catches a change
        made in between (the next attempt reads it)."""
        author = inbound.author
        author_type = ActorType.CUSTOMER if author.kind is UserKind.CUSTOMER else ActorType.STAFF
        message = self._message_from(inbound, ticket_id, author_type)

        def mutate(ticket: Ticket) -> TicketChange:
            if (author_type is ActorType.CUSTOMER and not inbound.auto_reply
                    and self._reopens(ticket.status_id)):
                ticket.status_id = REOPENED_STATUS
            if not inbound.auto_reply:
                _note_writer(ticket, author_type is ActorType.CUSTOMER, self._clock())
            known = {ticket.user_email, *ticket.cc}
            ticket.cc = ticket.cc + [a for a in dict.fromkeys(inbound.cc) if a not in known]
            if inbound.thread_id and not inbound.auto_reply:
                ticket.mail_thread = [*ticket.mail_thread, inbound.thread_id][-THREAD_MEMORY:]
            change = TicketChange(claims=list(inbound.claims), context=inbound.context,
                                  searchable=[inbound.text.casefold()])
            change.add("post", message)
            return change

        actor = Actor(type=author_type, id=author.id, name=author.name)
        system = Viewer(user=author, role=Role.ADMIN)  # channels are trusted like staff
        self._change(system, ticket_id, "post_added", mutate, actor=actor, read=read)
        return message

    def record_author_change(self, ticket_id: int, post_id: int, author: User, *,
                             new_text: str | None,
                             claims: builtins.list[Claim]) -> Message | None:
        """The customer edited (`new_text`) or deleted (None) a message in his messenger: an
        audit entry and a mark on our copy, which keeps what he first wrote."""

        def mutate(ticket: Ticket) -> TicketChange:
            message = self._message("post", ticket.id, post_id)
            note = FieldChange(field="post", old=message.text, new=new_text)
            if new_text is None:
                if message.deleted_by_author:
                    return TicketChange()
                message.deleted_by_author = True
            else:
                if new_text == message.text:
                    return TicketChange()
                message.text, message.edited = new_text, True
            message.date_updated = self._clock()
            return TicketChange(messages=[("post", message)], claims=list(claims),
                                notes=[note])

        kind = "post_deleted_by_author" if new_text is None else "post_edited_by_author"
        actor = Actor(type=ActorType.CUSTOMER, id=author.id, name=author.name)
        system = Viewer(user=author, role=Role.ADMIN)  # channels are trusted like staff
        _, change = self._change(system, ticket_id, kind, mutate, actor=actor)
        return change.messages[0][1] if change.messages else None

    def add_system_comment(self, ticket_id: int, text: str,
                           files: builtins.list[Attachment] = (),  # type: ignore[assignment]
                           message_id: int | None = None) -> Message:
        """A private note written by the system (bounces, delivery problems)."""
        message_id = message_id or self._repository.ids.next_id("message")
        now = self._clock()
        comment = Message(id=message_id, ticket_id=ticket_id, user_id=None,
                          author_type=ActorType.SYSTEM, text=text, files=list(files),
                          date_created=now, date_updated=now)
        system = Viewer(user=User(id=0, kind=UserKind.STAFF, group_id=1, name="System"),
                        role=Role.ADMIN)

        def mutate(ticket: Ticket) -> TicketChange:
            change = TicketChange()
            change.add("comment", comment)
            return change

        self._change(system, ticket_id, "comment_added", mutate, actor=Actor.system())
        return comment

    def _mentioned(self, text: str) -> builtins.list[int]:
        """Staff a private comment @mentions (their `mention:<id>` queue shows the ticket)."""
        if "@" not in text:
            return []
        staff = self._repository.people.users_of_kind(UserKind.STAFF.value)
        return [user.id for user in mentioned_staff(text, staff,
                                                    self._dictionaries.list("departments"))]

    def _message_from(self, inbound: Inbound, ticket_id: int,
                      author_type: ActorType) -> Message:
        now = self._clock()
        return Message(
            id=inbound.message_id or self._repository.ids.next_id("message"),
            ticket_id=ticket_id, user_id=inbound.author.id, author_type=author_type,
            text=inbound.text, files=inbound.files, mail=inbound.mail, media=inbound.media,
            provider_message_id=inbound.provider_message_id, date_created=now, date_updated=now,
        )

    def _open(self, requester: User, fields: TicketCreate, department: int,
              first: Inbound | None, actor: Actor,
              ticket_id: int | None = None) -> tuple[Ticket, Message | None]:
        now = self._clock()
        ticket_id = ticket_id or self._repository.ids.next_id("ticket")
        ticket = Ticket(
            id=ticket_id,
            unique_id=f"{self._prefix}-{ticket_id}",
            pid=fields.pid,
            title=fields.title,
            description=fields.description or (first.text if first else ""),
            source=fields.source or "api",
            priority_id=DEFAULT_PRIORITY,
            department_id=department,
            mailbox=fields.mailbox,
            channel_id=first.channel_id if first else None,
            conversation=first.conversation if first else None,
            user_id=requester.id,
            user_name=requester.name,
            user_lastname=requester.lastname,
            user_email=requester.email,
            organization_id=requester.organiz_id,
            date_created=now,
            date_updated=now,
            version=1,
        )
        self._apply_fields(ticket, fields)
        ticket.status_set_at = now
        if first is not None:
            _note_writer(ticket, requester.kind is UserKind.CUSTOMER, now)
        if first is not None and first.thread_id:
            ticket.mail_thread = [first.thread_id]
        change = TicketChange()
        message = None
        if first is not None:
            author_type = (
                ActorType.CUSTOMER if requester.kind is UserKind.CUSTOMER else ActorType.STAFF
            )
            message = self._message_from(first, ticket_id, author_type)
            change = TicketChange(messages=[("post", message)], claims=list(first.claims),
                                  context=first.context)
        change.searchable = [_search_text(ticket, [first.text if first else ""])]
        changes = [
            FieldChange(field=name, old=None, new=_plain(getattr(ticket, name)))
            for name in Ticket.AUDITED
            if getattr(ticket, name) not in (None, "", [], {}, False)
        ]
        self.sla.track(None, ticket, now, staff_replied=False)
        event = self._event(ticket, actor, "created", changes, now)
        event.context = _event_context(change)
        self._repository.tickets.commit_ticket(
            ticket, event, None, change,
            queues=QueueMove(Placement(None, frozenset()), self._memberships(ticket)))
        return ticket, message

    # --- changing --------------------------------------------------------------------------
    def update(self, viewer: Viewer, ticket_id: int, fields: TicketUpdate) -> Ticket:
        viewer.require_staff("change tickets")

        def mutate(ticket: Ticket) -> TicketChange:
            self._apply_fields(ticket, fields)
            if fields.title is not None:
                ticket.title = fields.title
            return TicketChange()

        return self._change(viewer, ticket_id, "updated", mutate)[0]

    def trash(self, viewer: Viewer, ticket_id: int) -> Ticket:
        viewer.require_staff("delete tickets")

        def mutate(ticket: Ticket) -> TicketChange:
            ticket.trashed = True
            return TicketChange()

        return self._change(viewer, ticket_id, "trashed", mutate)[0]

    def restore(self, viewer: Viewer, ticket_id: int) -> Ticket:
        viewer.require_staff("restore tickets")

        def mutate(ticket: Ticket) -> TicketChange:
            if not ticket.trashed:
                raise Conflict(f"ticket {ticket_id} is not in the trash")  # its state, not input
            ticket.trashed = False
            return TicketChange()

        return self._change(viewer, ticket_id, "restored", mutate)[0]

    def erase(self, viewer: Viewer, ticket_id: int) -> None:
        viewer.require_admin("delete tickets for good")
        ticket = self.get(viewer, ticket_id)
        self._repository.tickets.erase_ticket(ticket_id, self._placement(ticket))

    def add_message(
        self, viewer: Viewer, ticket_id: int, kind: str, fields: MessageCreate
    ) -> Message:
        if kind == "comment":
            viewer.require_staff("write private comments")
        author = self._author(viewer, ticket_id, fields.user_id)
        author_type = ActorType.CUSTOMER if author.kind is UserKind.CUSTOMER else ActorType.STAFF
        message_id = self._repository.ids.next_id("message")
        mentioned = self._mentioned(fields.text) if kind == "comment" else []

        def mutate(ticket: Ticket) -> TicketChange:
            now = self._clock()
            if mentioned:
                kept = [m for m in ticket.mentioned if m not in mentioned] + mentioned
                ticket.mentioned = kept[-MENTIONS_QUEUED * 4:]
            message = Message(
                id=message_id,
                ticket_id=ticket.id,
                user_id=author.id,
                author_type=author_type,
                text=fields.text,
                visible=bool(fields.visible) if kind == "comment" else False,
                date_created=now,
                date_updated=now,
            )
            if kind == "post" and author_type is ActorType.STAFF and (
                    ticket.mailbox or ticket.channel_id):
                message.delivery = Delivery(status="queued", updated=now,
                                            channel="email" if ticket.mailbox else ticket.source)
            if kind == "post":
                if author_type is ActorType.CUSTOMER and self._reopens(ticket.status_id):
                    ticket.status_id = REOPENED_STATUS
                _note_writer(ticket, author_type is ActorType.CUSTOMER, now)
            change = TicketChange(searchable=[fields.text.casefold()] if kind == "post" else [])
            change.add(_message_kind(kind), message)
            return change

        actor = Actor(type=author_type, id=author.id, name=author.name)
        if author.id != viewer.user.id:
            actor.acting_id, actor.acting_name = viewer.user.id, viewer.user.name
        _, change = self._change(viewer, ticket_id, f"{kind}_added", mutate, actor=actor)
        return change.messages[0][1]

    def update_message(
        self, viewer: Viewer, ticket_id: int, kind: str, message_id: int, fields: MessageUpdate
    ) -> Message:
        viewer.require_staff(f"edit {kind}s")

        def mutate(ticket: Ticket) -> TicketChange:
            message = self._message(kind, ticket.id, message_id)
            old = (message.text, message.visible)
            message.text = fields.text
            if fields.visible is not None and kind == "comment":
                message.visible = fields.visible
            change = TicketChange(notes=[FieldChange(field=kind, old=message_id,
                                                     new=message_id)])
            if (message.text, message.visible) != old:
                message.date_updated = self._clock()
                change.messages.append((_message_kind(kind), message))
            return change

        _, change = self._change(viewer, ticket_id, f"{kind}_updated", mutate)
        return (change.messages[0][1] if change.messages
                else self._message(kind, ticket_id, message_id))

    def delete_message(self, viewer: Viewer, ticket_id: int, kind: str, message_id: int) -> None:
        viewer.require_staff(f"delete {kind}s")

        def mutate(ticket: Ticket) -> TicketChange:
            message = self._message(kind, ticket.id, message_id)
            return TicketChange(removed=[(_message_kind(kind), message.id)],
                                notes=[FieldChange(field=kind, old=message_id, new=None)])

        self._change(viewer, ticket_id, f"{kind}_deleted", mutate)

    def change_as(self, viewer: Viewer, ticket_id: int, kind: str,
                  mutate: Mutation[TicketChange]) -> Ticket:
        """A staff change composed elsewhere (a template applied): the one write path."""
        viewer.require_staff("change tickets")
        return self._change(viewer, ticket_id, kind, mutate)[0]

    def staff_post(self, ticket: Ticket, change: TicketChange, text: str,
                   author: User | None, message_id: int | None = None) -> Message:
        """A public post by staff (or by rules, `author` None) added to `change`, queued for
        delivery when the ticket came in on a channel we can answer on; the ticket notes who
        wrote last."""
        now = self._clock()
        post = Message(id=message_id or self._repository.ids.next_id("message"),
                       ticket_id=ticket.id, user_id=author.id if author else None,
                       author_type=ActorType.STAFF, text=text, date_created=now,
                       date_updated=now)
        if ticket.mailbox or ticket.channel_id:
            post.delivery = Delivery(status="queued", updated=now,
                                     channel="email" if ticket.mailbox else ticket.source)
        change.searchable.append(text.casefold())
        _note_writer(ticket, False, now)
        return change.add("post", post)

    def change_by_rules(self, ticket_id: int, kind: str, mutate: Mutation[C],
                        actor: Actor) -> tuple[Ticket, C]:
        """Automation's write: the same path as staff changes (versioned, audited, retried on a
        concurrent write, where `mutate` evaluates the rules again on the fresh ticket). The
        change `mutate` returned last comes back with the ticket."""
        return self._change(_SYSTEM_VIEWER, ticket_id, kind, mutate, actor=actor)

    def retime(self, ticket_id: int, actor: Actor, note: str) -> Ticket:
        """Write the ticket's SLA timers as the current policies and calendars say (after an
        admin changed them); nothing is written when they say the same."""
        return self._change(
            _SYSTEM_VIEWER, ticket_id, "sla_retimed",
            lambda ticket: TicketChange(notes=[FieldChange(field="sla", new=note)]),
            actor=actor, timers_count=True)[0]

    # --- the one write path ---------------------------------------------------------------
    def _change(
        self,
        viewer: Viewer,
        ticket_id: int,
        kind: str,
        mutate: Mutation[C],
        *,
        actor: Actor | None = None,
        timers_count: bool = False,
        read: Ticket | None = None,
    ) -> tuple[Ticket, C]:
        """Apply `mutate` to the current ticket and commit the ticket, its event and the
        change intent `mutate` returned; retried on a concurrent write. A change that alters
        nothing writes nothing and emits no event. `timers_count`: a change of the SLA timers
        alone is worth a write (a re-time)."""
        for attempt in range(MAX_ATTEMPTS):
            if attempt == 0 and read is not None and read.id == ticket_id:
                ticket = viewer.require_ticket(read, ticket_id)  # changed in place
            else:
                ticket = self.get(viewer, ticket_id)
            before = ticket.model_copy(deep=True)
            change = mutate(ticket)
            # Breach tags stay whoever tries (a rule removing tags leaves them).
            ticket.tags = ticket.tags + sorted(protected_tags(before) - set(ticket.tags))
            now = self._clock()
            by = actor or viewer.actor
            self.sla.track(before, ticket, now, staff_replied=(
                by.type is ActorType.STAFF
                and ticket.last_staff_reply_at != before.last_staff_reply_at))
            changes = _diff(before, ticket)
            if not changes and not change.writes and (
                    not timers_count or ticket.sla == before.sla):
                return before, change
            ticket.version = before.version + 1
            ticket.date_updated = max(now, before.date_updated)
            if ticket.status_id != before.status_id:
                ticket.status_set_at = now
            event = self._event(ticket, by, change.kind or kind, [*change.notes, *changes], now)
            event.context = _event_context(change)
            try:
                self._repository.tickets.commit_ticket(
                    ticket, event, before.version, change,
                    queues=QueueMove(self._placement(before), self._memberships(ticket)))
            except StaleVersion:
                continue
            return ticket, change
        raise Conflict(f"ticket {ticket_id} is being changed by others; try again")

    # --- helpers ---------------------------------------------------------------------------
    def _event(
        self, ticket: Ticket, actor: Actor, kind: str, changes: builtins.list[FieldChange],
        now: datetime,
    ) -> TicketEvent:
        return TicketEvent(
            event_id=f"{ticket.id}-{ticket.version}",
            ticket_id=ticket.id,
            version=ticket.version,
            kind=kind,
            actor=actor,
            changes=changes,
            at=now,
        )

    def _requester(self, viewer: Viewer, fields: TicketCreate) -> User:
        if viewer.role is Role.CUSTOMER:
            return viewer.user
        user_id = fields.user_id or fields.create_from_user
        if user_id is not None:
            user = self._repository.people.get_user(user_id)
            if user is None:
                raise UnknownReference(f"user {user_id} does not exist", field="user_id")
            return user
        if fields.user_email:
            return self._users.find_or_create_customer(fields.user_email, fields.user_name)
        return viewer.user

    def _author(self, viewer: Viewer, ticket_id: int, user_id: int | None) -> User:
        """Who a new message is by: the viewer, or (staff only) on his behalf the customer
        of a ticket he may see: its requester or a customer in its copy."""
        if user_id is None or user_id == viewer.user.id:
            return viewer.user
        viewer.require_staff("write on behalf of another user")
        ticket = self.get(viewer, ticket_id)
        user = self._repository.people.get_user(user_id)
        if user is None:
            raise UnknownReference(f"user {user_id} does not exist", field="user_id")
        if user.kind is not UserKind.CUSTOMER or (
                user.id != ticket.user_id and (user.email or "") not in ticket.cc):
            raise Forbidden(f"user {user_id} is not a customer of ticket {ticket_id}: staff "
                            "write on behalf of the ticket's customers only", field="user_id")
        return user

    def _message(self, kind: str, ticket_id: int, message_id: int) -> Message:
        message = self._repository.tickets.get_message(kind, ticket_id, message_id)
        if message is None:
            raise NotFound(f"{kind} {message_id} does not exist in ticket {ticket_id}")
        return message

    def is_closed(self, status_id: str) -> bool:
        return self._dictionaries.is_closed(status_id)

    def _reopens(self, status_id: str) -> bool:
        """A customer writing to a closed or paused ticket brings it back to work."""
        return self._dictionaries.is_closed(status_id) or self._dictionaries.is_paused(status_id)

    def _apply_fields(self, ticket: Ticket, fields: TicketFields) -> None:
        given = fields.model_dump(exclude_unset=True)
        for name, kind in (("status_id", "statuses"), ("priority_id", "priorities"),
                           ("type_id", "types"), ("department_id", "departments")):
            if given.get(name) is not None:
                self._dictionaries.require(kind, given[name], name)
        if given.get("owner_id") is not None:
            self._require_staff_user(given["owner_id"], "owner_id")
        if given.get("tags") is not None:
            kept = protected_tags(ticket) - set(given["tags"])
            if kept:
                raise InvalidInput(f"tag {', '.join(sorted(kept))} marks a missed SLA target "
                                   "and cannot be removed", field="tags")
        if given.get("sla_policy_id") is not None and not self.sla.settings.policy_exists(
                given["sla_policy_id"]):
            raise UnknownReference(f"SLA policy {given['sla_policy_id']} does not exist",
                                   field="sla_policy_id")
        for follower in given.get("followers") or []:
            self._require_staff_user(follower, "followers")
        if given.get("user_id") is not None and isinstance(fields, TicketUpdate):
            requester = self._repository.people.get_user(given["user_id"])
            if requester is None:
                raise UnknownReference(f"user {given['user_id']} does not exist", field="user_id")
            ticket.user_name, ticket.user_lastname = requester.name, requester.lastname
            ticket.user_email = requester.email
            ticket.organization_id = requester.organiz_id
        for name in ("description", "sla_date", "status_id", "priority_id", "type_id",
                     "department_id", "ticket_lock", "owner_id", "cc", "bcc", "followers",
                     "custom_fields", "tags", "sla_policy_id", "spam"):
            if name in given and (given[name] is not None
                                  or name in {"owner_id", "sla_date", "sla_policy_id"}):
                setattr(ticket, name, given[name])
        if "user_id" in given and isinstance(fields, TicketUpdate) and given["user_id"]:
            ticket.user_id = given["user_id"]
        ticket.tags = list(dict.fromkeys(ticket.tags))

    def _require_staff_user(self, user_id: int, field: str) -> None:
        user = self._repository.people.get_user(user_id)
        if user is None or user.kind is not UserKind.STAFF or not user.active:
            raise UnknownReference(f"{field}: {user_id} is not an active staff member", field=field)

    def _candidates(self, viewer: Viewer, wanted: TicketFilter) -> builtins.list[Ticket]:
        key_range = KeyRange(
            low=keys.stamp(wanted.updated_from) if wanted.updated_from else None,
            high=keys.stamp(wanted.updated_to) + "~" if wanted.updated_to else None,
        )
        if wanted.trash:
            viewer.require_staff("see the trash")
            return self._repository.tickets.tickets_in(*keys.tickets_in_trash(), key_range)
        if viewer.role is Role.CUSTOMER:
            return self._repository.tickets.tickets_in(*keys.tickets_by_requester(viewer.user.id),
                                               key_range)
        if wanted.owner_id is not None:
            return self._repository.tickets.tickets_in(*keys.tickets_by_owner(wanted.owner_id),
                                                       key_range)
        if wanted.user_id is not None:
            return self._repository.tickets.tickets_in(*keys.tickets_by_requester(wanted.user_id),
                                               key_range)
        if wanted.department_id is not None:
            return self._repository.tickets.tickets_in(
                *keys.tickets_by_department(wanted.department_id), key_range)
        if viewer.role is Role.AGENT:
            merged = [
                ticket
                for department in viewer.user.department
                for ticket in self._repository.tickets.tickets_in(
                    *keys.tickets_by_department(department), key_range)
            ]
            return sorted(merged, key=lambda t: (t.date_updated, t.id), reverse=True)
        if wanted.status_id is not None:
            return self._repository.tickets.tickets_in(*keys.tickets_by_status(wanted.status_id),
                                               key_range)
        return self._repository.tickets.tickets_in(*keys.all_tickets(), key_range)


def _event_context(change: TicketChange) -> dict[str, Any]:
    """The event's context: the change's, and whether a post it adds gives the workflow's
    delivery step any work (`post_work`; the step is skipped when false)."""
    posts = [message for kind, message in change.messages if kind == "post"]
    if not posts:
        return change.context
    return {**change.context,
            "post_work": any(post.needs_delivery_step for post in posts)}


def _stamp_range(low: datetime | None, high: datetime | None) -> KeyRange:
    return KeyRange(low=keys.stamp(low) if low else "0",
                    high=keys.stamp(high) + "~" if high else None)


def _note_writer(ticket: Ticket, customer: bool, now: datetime) -> None:
    ticket.last_writer = "customer" if customer else "staff"
    if customer:
        ticket.last_customer_reply_at = now
    else:
        ticket.last_staff_reply_at = now


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _diff(before: Ticket, after: Ticket) -> list[FieldChange]:
    return [
        FieldChange(field=name, old=_plain(getattr(before, name)), new=_plain(getattr(after, name)))
        for name in Ticket.AUDITED
        if getattr(before, name) != getattr(after, name)
    ]


def _search_text(ticket: Ticket, texts: list[str]) -> str:
    parts = [ticket.unique_id, ticket.title, ticket.user_email or "", ticket.user_name,
             ticket.user_lastname, *texts]
    return " ".join(part for part in parts if part).casefold()


def _matches(ticket: Ticket, wanted: TicketFilter,
             search_text_of: Callable[[Ticket], str]) -> bool:
    checks = (
        (wanted.status_id, ticket.status_id),
        (wanted.priority_id, ticket.priority_id),
        (wanted.type_id, ticket.type_id),
        (wanted.department_id, ticket.department_id),
        (wanted.user_id, ticket.user_id),
        (wanted.owner_id, ticket.owner_id),
    )
    if any(expected is not None and expected != actual for expected, actual in checks):
        return False
    if wanted.created_from and ticket.date_created < wanted.created_from:
        return False
    if wanted.created_to and ticket.date_created > wanted.created_to:
        return False
    if wanted.search:
        needle = wanted.search.strip().casefold()
        return needle == str(ticket.id) or needle in search_text_of(ticket)
    return True


def _message_kind(kind: str) -> MessageKind:
    if kind not in ("post", "comment"):
        raise ValueError(f"no such kind of message: {kind}")
    return "post" if kind == "post" else "comment"
