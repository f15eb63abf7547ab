"""Persistence of the domain on the single table. Knows items; keys come from keys.py."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from helpdesk.changes import ConversationLink, Done, MailLink, ProviderMessageLink, TicketChange
from helpdesk.models import DictionaryEntry, Message, Organization, Ticket, TicketEvent, User
from helpdesk.store import keys
from helpdesk.store.collection import StaleVersion
from helpdesk.store.links import Links
from helpdesk.store.markers import TableMarkers
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


class DomainTaken(Exception):
    def __init__(self, domain: str) -> None:
        super().__init__(f"domain {domain} already belongs to another organization")
        self.domain = domain


class ContactTaken(Exception):
    def __init__(self, kind: str, value: str) -> None:
        super().__init__(f"{kind} {value} already belongs to another user")
        self.kind = kind
        self.value = value


MESSAGE_PREFIX = {"post": keys.POST_PREFIX, "comment": keys.COMMENT_PREFIX}
TRANSACTION_LIMIT = 100


def ticket_item(ticket: Ticket) -> Item:
    pk, sk = keys.ticket(ticket.id)
    return {
        "PK": pk,
        "SK": sk,
        "item_type": "ticket",
        **ticket.model_dump(mode="json"),
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


def user_item(user: User) -> Item:
    pk, sk = keys.user(user.id)
    return {
        "PK": pk,
        "SK": sk,
        "item_type": "user",
        **user.model_dump(mode="json"),
        **keys.user_index_keys(user.kind.value, f"{user.name} {user.lastname}", user.id,
                               user.organiz_id),
    }


def contact_item(kind: str, value: str, user_id: int) -> Item:
    pk, sk = keys.contact(kind, value)
    return {"PK": pk, "SK": sk, "item_type": "contact", "user_id": user_id}


class Repository:
    def __init__(self, table: Table) -> None:
        self.table = table
        self._links = Links(table)
        self._markers = TableMarkers(table)

    # --- ids -----------------------------------------------------------------------------
    def next_id(self, name: str) -> int:
        pk, sk = keys.counter(name)
        return self.table.increment(pk, sk, "value")

    # --- tickets -------------------------------------------------------------------------
    def get_ticket(self, ticket_id: int) -> Ticket | None:
        item = self.table.get(*keys.ticket(ticket_id))
        return Ticket.model_validate(item) if item else None

    def commit_ticket(
        self,
        ticket: Ticket,
        event: TicketEvent,
        previous_version: int | None,
        change: TicketChange | None = None,
    ) -> None:
        """Write the ticket, its event and what the change intent adds, in one transaction.

        `previous_version` None means the ticket must not exist yet; otherwise the stored
        version must still be that one (optimistic locking). A claim another change made
        first fails the transaction the same way: `StaleVersion`, read again and redo."""
        condition = (
            Condition.item_absent()
            if previous_version is None
            else Condition.attrs_equal(version=previous_version)
        )
        operations: list[Operation] = [
            Put(ticket_item(ticket), condition),
            Put(event_item(event), Condition.item_absent()),
            *(self._operations_of(ticket.id, change) if change is not None else []),
        ]
        try:
            self.table.transact(operations)
        except TransactionConflict as conflict:
            raise StaleVersion(str(conflict)) from conflict

    def _operations_of(self, ticket_id: int, change: TicketChange) -> list[Operation]:
        operations: list[Operation] = [Put(message_item(kind, message))
                                       for kind, message in change.messages]
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
            self.table, QueryRequest(pk=pk, index=index, sk=key_range, newest_first=True)
        )
        return [Ticket.model_validate(item) for item in items]

    def erase_ticket(self, ticket_id: int) -> None:
        """Remove the ticket and everything under it (posts, comments, events) for good."""
        items = query_all(self.table, QueryRequest(pk=keys.ticket_pk(ticket_id)))
        for start in range(0, len(items), TRANSACTION_LIMIT):
            chunk = items[start : start + TRANSACTION_LIMIT]
            self.table.transact([Delete(item["PK"], item["SK"]) for item in chunk])

    # --- posts, comments, events ---------------------------------------------------------
    def messages(self, kind: str, ticket_id: int) -> list[Message]:
        items = query_all(
            self.table,
            QueryRequest(pk=keys.ticket_pk(ticket_id), sk=KeyRange(prefix=MESSAGE_PREFIX[kind])),
        )
        return [Message.model_validate(item) for item in items]

    def get_message(self, kind: str, ticket_id: int, message_id: int) -> Message | None:
        item = self.table.get(keys.ticket_pk(ticket_id), _message_sk(kind, message_id))
        return Message.model_validate(item) if item else None

    def replace_message(self, kind: str, message: Message) -> None:
        """Saves a changed message that is not a change of its ticket (delivery status,
        fetched media): no ticket event, no version; only if the message still exists."""
        self.table.put(message_item(kind, message), Condition.item_exists())

    def event(self, ticket_id: int, version: int) -> TicketEvent | None:
        item = self.table.get(keys.ticket_pk(ticket_id), keys.event_sk(version))
        return TicketEvent.model_validate(item) if item else None

    def events(self, ticket_id: int) -> list[TicketEvent]:
        items = query_all(
            self.table,
            QueryRequest(pk=keys.ticket_pk(ticket_id), sk=KeyRange(prefix=keys.EVENT_PREFIX)),
        )
        return [TicketEvent.model_validate(item) for item in items]

    # --- users and contacts ----------------------------------------------------------------
    def get_user(self, user_id: int) -> User | None:
        item = self.table.get(*keys.user(user_id))
        return User.model_validate(item) if item else None

    def user_by_contact(self, kind: str, value: str) -> User | None:
        link = self.table.get(*keys.contact(kind, value))
        return self.get_user(int(link["user_id"])) if link else None

    def save_user(
        self,
        user: User,
        previous_version: int | None,
        added_contacts: list[tuple[str, str]] = (),  # type: ignore[assignment]
        removed_contacts: list[tuple[str, str]] = (),  # type: ignore[assignment]
    ) -> None:
        """Write a user with its unique contact items in one transaction."""
        condition = (
            Condition.item_absent()
            if previous_version is None
            else Condition.attrs_equal(version=previous_version)
        )
        operations: list[Operation] = [Put(user_item(user), condition)]
        operations += [
            Put(contact_item(kind, value, user.id), Condition.item_absent())
            for kind, value in added_contacts
        ]
        operations += [
            Delete(*keys.contact(kind, value), Condition.attrs_equal(user_id=user.id))
            for kind, value in removed_contacts
        ]
        try:
            self.table.transact(operations)
        except TransactionConflict as conflict:
            for reason, (kind, value) in zip(conflict.reasons[1:], added_contacts, strict=False):
                if reason == "ConditionalCheckFailed":
                    raise ContactTaken(kind, value) from conflict
            raise StaleVersion(str(conflict)) from conflict

    def users_of_kind(self, kind: str) -> list[User]:
        index, pk = keys.users_by_kind(kind)
        return [
            User.model_validate(item)
            for item in query_all(self.table, QueryRequest(pk=pk, index=index))
        ]

    def erase_user(self, user: User) -> None:
        self.table.transact(
            [Delete(*keys.user(user.id))]
            + [Delete(*keys.contact(c.kind, c.value)) for c in user.contacts]
        )

    def users_of_organization(self, organization_id: int) -> list[User]:
        index, pk = keys.users_of_organization(organization_id)
        return [
            User.model_validate(item)
            for item in query_all(self.table, QueryRequest(pk=pk, index=index))
        ]

    # --- organizations -------------------------------------------------------------------
    def get_organization(self, organization_id: int) -> Organization | None:
        item = self.table.get(*keys.organization(organization_id))
        return Organization.model_validate(item) if item else None

    def organization_by_domain(self, domain: str) -> Organization | None:
        link = self.table.get(*keys.organization_domain(domain))
        return self.get_organization(int(link["organization_id"])) if link else None

    def organizations(self) -> list[Organization]:
        index, pk = keys.all_organizations()
        return [
            Organization.model_validate(item)
            for item in query_all(self.table, QueryRequest(pk=pk, index=index))
        ]

    def save_organization(self, organization: Organization, previous_version: int | None,
                          old_domains: list[str] = ()) -> None:  # type: ignore[assignment]
        """The organization and its unique domain items, in one transaction."""
        pk, sk = keys.organization(organization.id)
        condition = (
            Condition.item_absent()
            if previous_version is None
            else Condition.attrs_equal(version=previous_version)
        )
        item = {"PK": pk, "SK": sk, "item_type": "organization",
                **organization.model_dump(mode="json"),
                **keys.organization_index_keys(organization.name, organization.id)}
        added = [d for d in organization.domains if d not in old_domains]
        removed = [d for d in old_domains if d not in organization.domains]
        operations: list[Operation] = [Put(item, condition)]
        for domain in added:
            domain_pk, domain_sk = keys.organization_domain(domain)
            operations.append(Put({"PK": domain_pk, "SK": domain_sk, "item_type": "org_domain",
                                   "organization_id": organization.id}, Condition.item_absent()))
        operations += [
            Delete(*keys.organization_domain(domain),
                   Condition.attrs_equal(organization_id=organization.id))
            for domain in removed
        ]
        try:
            self.table.transact(operations)
        except TransactionConflict as conflict:
            for reason, domain in zip(conflict.reasons[1:], added, strict=False):
                if reason == "ConditionalCheckFailed":
                    raise DomainTaken(domain) from conflict
            raise StaleVersion(str(conflict)) from conflict

    def erase_organization(self, organization: Organization) -> None:
        self.table.transact(
            [Delete(*keys.organization(organization.id))]
            + [Delete(*keys.organization_domain(d)) for d in organization.domains]
        )

    # --- outbound webhook subscriptions ----------------------------------------------------
    def webhook_breaker(self, subscription_id: int) -> dict[str, Any] | None:
        return self.table.get(*keys.subscription_breaker(subscription_id))

    def save_webhook_breaker(self, subscription_id: int, state: dict[str, Any]) -> None:
        # Last writer wins: parallel deliveries may lose a failure count (see the breaker).
        pk, sk = keys.subscription_breaker(subscription_id)
        self.table.put({"PK": pk, "SK": sk, "item_type": "webhook_breaker", **state})

    def save_dead_letter(self, subscription_id: int, delivery_id: str,
                         letter: dict[str, Any]) -> None:
        """One item per delivery id: recording the same failure twice overwrites it."""
        pk, sk = keys.dead_letter(subscription_id, delivery_id)
        self.table.put({"PK": pk, "SK": sk, "item_type": "dead_letter", **letter})

    def dead_letters(self, subscription_id: int) -> list[dict[str, Any]]:
        pk, prefix = keys.dead_letters(subscription_id)
        return query_all(self.table, QueryRequest(pk=pk, sk=KeyRange(prefix=prefix)))

    # --- periodic rules and SLA checks due ------------------------------------------------
    def periodic_marks(self, rule_id: int) -> set[int]:
        """Tickets the periodic rule fired on whose condition still held at the last pass."""
        items = query_all(self.table, QueryRequest(pk=keys.periodic_marks(rule_id)))
        return {int(item["ticket_id"]) for item in items}

    def set_periodic_mark(self, rule_id: int, ticket_id: int, fired: bool) -> None:
        pk, sk = keys.periodic_mark(rule_id, ticket_id)
        if fired:
            self.table.put({"PK": pk, "SK": sk, "item_type": "periodic_mark",
                            "ticket_id": ticket_id})
        else:
            self.table.delete(pk, sk)

    def sla_due(self, shard: int, until: str, limit: int) -> list[str]:
        """Sort keys of the due index in one shard up to `until` (a stamp), oldest first."""
        index, pk = keys.sla_due_shard(shard)
        items = query_all(self.table, QueryRequest(pk=pk, index=index,
                                                   sk=KeyRange(low="0", high=until + "~"),
                                                   limit=limit))
        return [str(item["GSI6SK"]) for item in items]

    # --- dictionaries --------------------------------------------------------------------
    def dictionary(self, kind: str) -> list[DictionaryEntry]:
        items = query_all(self.table, QueryRequest(pk=keys.dictionary_pk(kind)))
        return [DictionaryEntry.model_validate(item) for item in items]

    def dictionary_entry(self, kind: str, entry_id: int | str) -> DictionaryEntry | None:
        item = self.table.get(*keys.dictionary_entry(kind, entry_id))
        return DictionaryEntry.model_validate(item) if item else None

    def put_dictionary_entry(self, kind: str, entry: DictionaryEntry, *, only_new: bool) -> bool:
        pk, sk = keys.dictionary_entry(kind, entry.id)
        item = {"PK": pk, "SK": sk, "item_type": kind, **entry.model_dump(mode="json")}
        try:
            self.table.put(item, Condition.item_absent() if only_new else None)
        except ConditionFailed:
            return False
        return True

    # --- rate limiting ---------------------------------------------------------------------
    def count_request(self, principal: str, window: int) -> Item | None:
        """Count one request in the principal's current window; None if the window is new."""
        pk, sk = keys.rate_limit(principal)
        try:
            return self.table.increment_if(
                pk, sk, "count", Condition.attrs_equal(window=window)
            )
        except ConditionFailed:
            return None

    def rate_state(self, principal: str) -> Item | None:
        return self.table.get(*keys.rate_limit(principal))

    def replace_rate_state(
        self, principal: str, state: dict[str, Any], expected: Item | None
    ) -> bool:
        pk, sk = keys.rate_limit(principal)
        condition = (
            Condition.item_absent()
            if expected is None
            else Condition.attrs_equal(window=expected.get("window"), count=expected.get("count"))
        )
        try:
            self.table.put({"PK": pk, "SK": sk, **state}, condition)
        except ConditionFailed:
            return False
        return True
