"""Tickets with what lives under them (posts, comments, events) and the ticket indexes: one
ticket's partition, keyed in keys.py. A ticket is written only with its event and the
change intent that made it (`commit_ticket`), in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from helpdesk.changes import (
    SEARCH_TEXT_LIMIT,
    ConversationLink,
    Done,
    MailLink,
    ProviderMessageLink,
    TicketChange,
)
from helpdesk.models import Message, Ticket, TicketEvent
from helpdesk.store import keys
from helpdesk.store.collection import StaleVersion
from helpdesk.store.links import Links
from helpdesk.store.markers import TableMarkers
from helpdesk.store.queue_entries import Placement, QueueEntries, chunks
from helpdesk.store.table import (
    Condition,
    ConditionFailed,
    Delete,
    Item,
    KeyRange,
    Operation,
    Put,
    QueryRequest,
    Table,
    TransactionConflict,
    query_all,
)

MESSAGE_PREFIX = {"post": keys.POST_PREFIX, "comment": keys.COMMENT_PREFIX}
TRANSACTION_LIMIT = 100


@dataclass(frozen=True)
class QueueMove:
    """The queues a ticket was in (its stored entries) and those it is in after a change."""

    before: Placement
    after: frozenset[str]


def ticket_item(ticket: Ticket) -> Item:
    pk, sk = keys.ticket(ticket.id)
    return {
        "PK": pk,
        "SK": sk,
        "item_type": "ticket",
        **ticket.model_dump(mode="json", exclude={"search_text"}),  # its own item
        **keys.ticket_index_keys(
            ticket_id=ticket.id,
            updated=ticket.date_updated,
            status_id=ticket.status_id,
            department_id=ticket.department_id,
            owner_id=ticket.owner_id,
            user_id=ticket.user_id,
            trashed=ticket.trashed,
            sla_check=_sla_check(ticket),
        ),
    }


def _sla_check(ticket: Ticket) -> tuple[datetime, str, int] | None:
    sla = ticket.sla
    if sla is None or sla.next_check is None or sla.next_check_kind is None:
        return None
    return sla.next_check, sla.next_check_kind, sla.version


def event_item(event: TicketEvent) -> Item:
    return {
        "PK": keys.ticket_pk(event.ticket_id),
        "SK": keys.event_sk(event.version),
        "item_type": "ticket_event",
        **event.model_dump(mode="json"),
    }


def _message_sk(kind: str, message_id: int) -> str:
    return keys.post_sk(message_id) if kind == "post" else keys.comment_sk(message_id)


def message_item(kind: str, message: Message) -> Item:
    return {
        "PK": keys.ticket_pk(message.ticket_id),
        "SK": _message_sk(kind, message.id),
        "item_type": kind,
        **message.model_dump(mode="json"),
    }


class TicketRecords:
    def __init__(self, table: Table) -> None:
        self._table = table
        self._links = Links(table)
        self._markers = TableMarkers(table)
        self.queues = QueueEntries(table)

    # --- tickets -------------------------------------------------------------------------
    def get_ticket(self, ticket_id: int) -> Ticket | None:
        item = self._table.get(*keys.ticket(ticket_id))
        return Ticket.model_validate(item) if item else None

    def commit_ticket(
        self,
        ticket: Ticket,
        event: TicketEvent,
        previous_version: int | None,
        change: TicketChange | None = None,
        queues: QueueMove | None = None,
    ) -> None:
        """Write the ticket, its event, what the change intent adds and the moves of its
        queue entries and counters (`queues`), in one transaction.

        `previous_version` None means the ticket must not exist yet; otherwise the stored
        version must still be that one (optimistic locking). A claim another change made
        first fails the transaction the same way: `StaleVersion`, read again and redo."""
        condition = (
            Condition.item_absent()
            if previous_version is None
            else Condition.attrs_equal(version=previous_version)
        )
        if queues is not None:
            ticket.queued = True
        operations: list[Operation] = [
            Put(ticket_item(ticket), condition),
            Put(event_item(event), Condition.item_absent()),
            *(self._operations_of(ticket, change) if change is not None else []),
        ]
        if queues is not None:
            operations += self.queues.operations(
                queues.before, Placement(ticket, queues.after),
                room=TRANSACTION_LIMIT - len(operations))
        try:
            self._table.transact(operations)
        except TransactionConflict as conflict:
            raise StaleVersion(str(conflict)) from conflict

    def record_workflow_done(self, ticket_id: int, version: int, at: datetime,
                             rules_evaluated: int) -> bool:
        """What the ticket_event workflow's last step records, for an event whose workflow
        had nothing to do (not started). False when the event item is gone."""
        values = {"workflow_status": "SUCCEEDED", "rules_evaluated": rules_evaluated,
                  "workflow_finished_at": keys.stamp(at), "workflow": "not needed"}
        try:
            self._table.update(keys.ticket_pk(ticket_id), keys.event_sk(version), values,
                               Condition.item_exists())
        except ConditionFailed:
            return False
        return True

    def search_text(self, ticket_id: int) -> str | None:
        """The ticket's search text; None for a ticket stored before it had its own item
        (its text is still on the ticket) or written without any."""
        item = self._table.get(*keys.ticket_search(ticket_id))
        return None if item is None else str(item.get("text", ""))

    def _search_operation(self, ticket: Ticket, texts: list[str]) -> Operation | None:
        """The search item with `texts` appended, or None when it is full already. Read here,
        inside the change: the ticket's version condition makes a concurrent change redo."""
        stored = self.search_text(ticket.id)
        current = ticket.search_text if stored is None else stored
        if stored is not None and len(current) >= SEARCH_TEXT_LIMIT:
            return None
        text = " ".join(part for part in (current, *texts) if part)[:SEARCH_TEXT_LIMIT]
        pk, sk = keys.ticket_search(ticket.id)
        return Put({"PK": pk, "SK": sk, "item_type": "ticket_search", "text": text})

    def _operations_of(self, ticket: Ticket, change: TicketChange) -> list[Operation]:
        ticket_id = ticket.id
        operations: list[Operation] = [Put(message_item(kind, message))
                                       for kind, message in change.messages]
        search = self._search_operation(ticket, change.searchable) if change.searchable else None
        if search is not None:
            operations.append(search)
        operations += [Delete(keys.ticket_pk(ticket_id), _message_sk(kind, message_id))
                       for kind, message_id in change.removed]
        for claim in change.claims:
            match claim:
                case Done():
                    operations.append(self._markers.marker(claim.kind, claim.key,
                                                           **claim.payload))
                case MailLink():
                    operations.append(self._links.new_mail_link(
                        claim.message_id, ticket_id, claim.post_id))
                case ConversationLink():
                    operations.append(self._links.conversation_link(
                        claim.channel_id, claim.chat, ticket_id, claim.linked))
                case ProviderMessageLink():
                    operations.append(self._links.channel_message_link(
                        claim.channel_id, claim.provider_message_id, ticket_id=ticket_id,
                        post_id=claim.post_id, direction=claim.direction))
        return operations

    def tickets_in(self, index: str, pk: str, key_range: KeyRange) -> list[Ticket]:
        items = query_all(
            self._table, QueryRequest(pk=pk, index=index, sk=key_range, newest_first=True)
        )
        return [Ticket.model_validate(item) for item in items]

    def index_ticket(self, ticket: Ticket, names: frozenset[str]) -> bool:
        """Write the queue entries of a ticket stored before queues existed (and count it),
        once: the ticket is marked `queued` in the same transaction, conditional on its
        version. False when it had them already; StaleVersion when it changed meanwhile."""
        if ticket.queued:
            return False
        ticket = ticket.model_copy(update={"queued": True})
        operations: list[Operation] = [
            Put(ticket_item(ticket), Condition.attrs_equal(version=ticket.version))]
        operations += self.queues.operations(Placement(None, frozenset()),
                                             Placement(ticket, names),
                                             room=TRANSACTION_LIMIT - 1)
        try:
            self._table.transact(operations)
        except TransactionConflict as conflict:
            raise StaleVersion(str(conflict)) from conflict
        return True

    def ticket_page(self, queues: Sequence[str], sort: str, newest_first: bool, limit: int,
                    key_range: KeyRange) -> list[str]:
        """Sort values of the first `limit` entries of the queues merged in order (one Query
        per queue: an agent's departments; a ticket is in one department, so no repeats)."""
        merged = [value for queue in queues
                  for value in self.queues.page(queue, sort, newest_first, limit, key_range)]
        return sorted(merged, reverse=newest_first)[:limit]

    def tickets_by_id(self, ticket_ids: Sequence[int]) -> list[Ticket]:
        """The tickets, in the order given (one BatchGetItem per 100); gone ones left out."""
        items = self._table.get_many([keys.ticket(ticket_id) for ticket_id in ticket_ids])
        return [Ticket.model_validate(item) for item in items]

    def erase_ticket(self, ticket_id: int, placement: Placement | None = None) -> None:
        """Remove the ticket and everything under it (posts, comments, events) for good, and
        its queue entries (`placement`: the queues it is in) with their counts."""
        items = query_all(self._table, QueryRequest(pk=keys.ticket_pk(ticket_id)))
        operations = self.queues.removal(placement) if placement is not None else []
        operations += [Delete(item["PK"], item["SK"]) for item in items]
        for chunk in chunks(operations, TRANSACTION_LIMIT):  # entry and count stay together
            self._table.transact(chunk)

    # --- posts, comments, events ---------------------------------------------------------
    def messages(self, kind: str, ticket_id: int, limit: int | None = None) -> list[Message]:
        """The ticket's posts or comments, oldest first; the first `limit` only when given
        (a Query with Limit: a page of a long conversation reads that page)."""
        items = query_all(
            self._table,
            QueryRequest(pk=keys.ticket_pk(ticket_id), sk=KeyRange(prefix=MESSAGE_PREFIX[kind]),
                         limit=limit),
        )
        return [Message.model_validate(item) for item in items]

    def get_message(self, kind: str, ticket_id: int, message_id: int) -> Message | None:
        item = self._table.get(keys.ticket_pk(ticket_id), _message_sk(kind, message_id))
        return Message.model_validate(item) if item else None

    def replace_message(self, kind: str, message: Message) -> None:
        """Saves a changed message that is not a change of its ticket (delivery status,
        fetched media): no ticket event, no version; only if the message still exists."""
        self._table.put(message_item(kind, message), Condition.item_exists())

    def event(self, ticket_id: int, version: int) -> TicketEvent | None:
        item = self._table.get(keys.ticket_pk(ticket_id), keys.event_sk(version))
        return TicketEvent.model_validate(item) if item else None

    def events(self, ticket_id: int, limit: int | None = None) -> list[TicketEvent]:
        items = query_all(
            self._table,
            QueryRequest(pk=keys.ticket_pk(ticket_id), sk=KeyRange(prefix=keys.EVENT_PREFIX),
                         limit=limit),
        )
        return [TicketEvent.model_validate(item) for item in items]

    def sla_due(self, shard: int, until: str, limit: int) -> list[str]:
        """Sort keys of the due index in one shard up to `until` (a stamp), oldest first."""
        index, pk = keys.sla_due_shard(shard)
        items = query_all(self._table, QueryRequest(pk=pk, index=index,
                                                   sk=KeyRange(low="0", high=until + "~"),
                                                   limit=limit))
        return [str(item["GSI6SK"]) for item in items]
