"""Users and organizations with their unique items (a contact belongs to one user, a mail
domain to one organization), keyed in keys.py."""

from __future__ import annotations

from helpdesk.models import Organization, User
from helpdesk.store import keys
from helpdesk.store.collection import StaleVersion
from helpdesk.store.table import (
    Condition,
    Delete,
    Item,
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


class People:
    def __init__(self, table: Table) -> None:
        self._table = table

    def get_user(self, user_id: int) -> User | None:
        item = self._table.get(*keys.user(user_id))
        return User.model_validate(item) if item else None

    def user_by_contact(self, kind: str, value: str) -> User | None:
        link = self._table.get(*keys.contact(kind, value))
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
            self._table.transact(operations)
        except TransactionConflict as conflict:
            for reason, (kind, value) in zip(conflict.reasons[1:], added_contacts, strict=False):
                if reason == "ConditionalCheckFailed":
                    raise ContactTaken(kind, value) from conflict
            raise StaleVersion(str(conflict)) from conflict

    def users_of_kind(self, kind: str) -> list[User]:
        index, pk = keys.users_by_kind(kind)
        return [
            User.model_validate(item)
            for item in query_all(self._table, QueryRequest(pk=pk, index=index))
        ]

    def erase_user(self, user: User) -> None:
        self._table.transact(
            [Delete(*keys.user(user.id))]
            + [Delete(*keys.contact(c.kind, c.value)) for c in user.contacts]
        )

    def users_page(self, index: str, pk: str, limit: int,
                   start: Item | None) -> tuple[list[User], Item | None]:
        """Users of one index partition (by kind, by organization) in name order: at most
        `limit` from `start`, and where to go on (None at the end)."""
        page = self._table.query(QueryRequest(pk=pk, index=index, limit=limit,
                                              start_key=start))
        return [User.model_validate(item) for item in page.items], page.next_key

    def organizations_page(self, limit: int,
                           start: Item | None) -> tuple[list[Organization], Item | None]:
        index, pk = keys.all_organizations()
        page = self._table.query(QueryRequest(pk=pk, index=index, limit=limit,
                                              start_key=start))
        return [Organization.model_validate(item) for item in page.items], page.next_key

    def users_of_organization(self, organization_id: int) -> list[User]:
        index, pk = keys.users_of_organization(organization_id)
        return [
            User.model_validate(item)
            for item in query_all(self._table, QueryRequest(pk=pk, index=index))
        ]

    # --- organizations -------------------------------------------------------------------
    def get_organization(self, organization_id: int) -> Organization | None:
        item = self._table.get(*keys.organization(organization_id))
        return Organization.model_validate(item) if item else None

    def organization_by_domain(self, domain: str) -> Organization | None:
        link = self._table.get(*keys.organization_domain(domain))
        return self.get_organization(int(link["organization_id"])) if link else None

    def organizations(self) -> list[Organization]:
        index, pk = keys.all_organizations()
        return [
            Organization.model_validate(item)
            for item in query_all(self._table, QueryRequest(pk=pk, index=index))
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
            self._table.transact(operations)
        except TransactionConflict as conflict:
            for reason, domain in zip(conflict.reasons[1:], added, strict=False):
                if reason == "ConditionalCheckFailed":
                    raise DomainTaken(domain) from conflict
            raise StaleVersion(str(conflict)) from conflict

    def erase_organization(self, organization: Organization) -> None:
        self._table.transact(
            [Delete(*keys.organization(organization.id))]
            + [Delete(*keys.organization_domain(d)) for d in organization.domains]
        )
