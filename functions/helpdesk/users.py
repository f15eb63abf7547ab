"""Staff and customers: creation, contacts, API keys, authentication, listing."""

from __future__ import annotations

import builtins
import dataclasses
import functools
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from helpdesk.access import Viewer
from helpdesk.dictionaries import ADMIN_GROUP, CUSTOMER_GROUP, Dictionaries
from helpdesk.errors import (
    Conflict,
    Forbidden,
    NotFound,
    Unauthorized,
    UnknownReference,
)
from helpdesk.inputs import UserCreate, UserUpdate
from helpdesk.models import Contact, Role, User, UserKind
from helpdesk.phones import to_e164
from helpdesk.record_pages import RecordPage, read_page
from helpdesk.search.queries import SEARCH_RESULTS, Search
from helpdesk.store import keys
from helpdesk.store.collection import StaleVersion
from helpdesk.store.people import ContactTaken
from helpdesk.store.repository import Repository

NO_USER = 0  # ids start at 1: reading this one costs what reading a user costs
MAIN_ADMIN_ID = 1  # the bootstrap administrator: the only one who may manage other admins


def hash_api_key(api_key: str) -> str:
    # Keys are 192-bit random tokens, so a fast hash is enough (no dictionary to guess from).
    return hashlib.sha256(api_key.encode()).hexdigest()


def new_api_key() -> str:
    return secrets.token_urlsafe(24)


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    return f"scrypt${salt.hex()}${digest.hex()}"


@dataclass
class UserFilter:
    group_id: int | None = None
    department_id: int | None = None
    status: str | None = None
    user_status: int | None = None
    organization_id: int | None = None
    search: str | None = None


# What a user may change on himself without the right to manage users of his role: his
# profile. Never his group, departments, status, organization or custom fields (issue
# "Hardening": an agent widened his own departments, a customer joined any organization).
SELF_EDITABLE = frozenset({"name", "lastname", "alias", "phone", "skype", "website", "email",
                           "password", "language", "notifications"})

class Users:
    def __init__(
        self,
        repository: Repository,
        dictionaries: Dictionaries,
        clock: Callable[[], datetime],
    ) -> None:
        self._repository = repository
        self._dictionaries = dictionaries
        self._clock = clock

    # --- authentication --------------------------------------------------------------------
    def authenticate(self, email: str, api_key: str) -> Viewer:
        given = hash_api_key(api_key)
        people = self._repository.people
        user = people.user_by_contact("email", email.strip().lower())
        if user is None:
            # The same reads as a known e-mail's: a wrong e-mail must not answer faster and
            # so tell which addresses have accounts.
            people.get_user(NO_USER)
        if (
            user is None
            or user.api_key_hash is None
            or not hmac.compare_digest(user.api_key_hash, given)
        ):
            raise Unauthorized("the e-mail or API key is wrong")
        if not user.active:
            raise Unauthorized(f"user {email} is disabled")
        return self.viewer_of(user)

    def viewer_of(self, user: User) -> Viewer:
        return Viewer(user=user, role=self._dictionaries.role_of_group(user.group_id))

    # --- reading ---------------------------------------------------------------------------
    def get(self, viewer: Viewer, user_id: int) -> User:
        user = self._repository.people.get_user(user_id)
        if user is None or (not viewer.is_staff and user.id != viewer.user.id):
            raise NotFound(f"user {user_id} does not exist")
        return user

    def list(self, viewer: Viewer, wanted: UserFilter) -> list[User]:
        viewer.require_staff("list users")
        kinds = [UserKind.STAFF, UserKind.CUSTOMER]
        if wanted.group_id is not None:
            role = self._dictionaries.role_of_group(wanted.group_id)
            kinds = [UserKind.CUSTOMER if role is Role.CUSTOMER else UserKind.STAFF]
        if wanted.search:  # the token index picks the candidates (helpdesk/search/queries.py)
            rest = dataclasses.replace(wanted, search=None)
            return Search.on(self._repository).users(
                wanted.search, SEARCH_RESULTS,
                accept=lambda user: user.kind in kinds and _matches(user, rest)).items
        people = self._repository.people
        users = [user for kind in kinds for user in people.users_of_kind(kind.value)]
        return [user for user in users if _matches(user, wanted)]

    def page(self, viewer: Viewer, wanted: UserFilter, page: int,
             per_page: int) -> RecordPage[User]:
        """One page in the order of the list (staff, then customers, each by name; an
        organization's people by name), reading the index partitions up to that page only.
        A search reads its bounded result (helpdesk/search/queries.py)."""
        if wanted.search:
            found = self.list(viewer, wanted)
            return RecordPage(found[(page - 1) * per_page:page * per_page],
                              len(found) > page * per_page)
        viewer.require_staff("list users")
        kinds = {UserKind.STAFF, UserKind.CUSTOMER}
        if wanted.group_id is not None:
            role = self._dictionaries.role_of_group(wanted.group_id)
            kinds = {UserKind.CUSTOMER if role is Role.CUSTOMER else UserKind.STAFF}
        people = self._repository.people
        if wanted.organization_id is not None:
            partitions = [keys.users_of_organization(wanted.organization_id)]
        else:
            partitions = [keys.users_by_kind(kind.value)
                          for kind in (UserKind.STAFF, UserKind.CUSTOMER) if kind in kinds]
        reads = [functools.partial(people.users_page, index, pk) for index, pk in partitions]
        rest = dataclasses.replace(wanted, organization_id=None)  # the partition answers it
        keep = (lambda user: _matches(user, rest)) if rest != UserFilter() else None
        return read_page(reads, keep, page, per_page)

    # --- writing ---------------------------------------------------------------------------
    def create(self, viewer: Viewer, fields: UserCreate) -> tuple[User, str | None]:
        """Create a user; staff get an API key, returned in full only here."""
        group_id = fields.group_id or CUSTOMER_GROUP
        role = self._role(group_id)
        self._require_may_manage(viewer, role)
        kind = UserKind.CUSTOMER if role is Role.CUSTOMER else UserKind.STAFF
        user = self._new_user(kind, group_id, fields.name, fields.email)
        self._apply(user, fields.model_dump(exclude_unset=True, exclude={"name", "email"}))
        api_key = None
        if user.kind is UserKind.STAFF:
            api_key = new_api_key()
            user.api_key_hash = hash_api_key(api_key)
        phone = self._free_phone(user.phone)
        if phone:
            user.contacts.append(Contact(kind="phone", value=phone))
        try:
            self._repository.people.save_user(user, None, [("email", fields.email)]
                                       + ([("phone", phone)] if phone else []))
        except ContactTaken as taken:
            raise Conflict(f"a user with {taken.kind} {taken.value} already exists",
                           field=taken.kind) from taken
        return user, api_key

    def update(self, viewer: Viewer, user_id: int, fields: UserUpdate) -> User:
        user = self._repository.people.get_user(user_id)
        if user is None or (not viewer.is_staff and user_id != viewer.user.id):
            raise NotFound(f"user {user_id} does not exist")
        role = self._dictionaries.role_of_group(user.group_id)
        changes = fields.model_dump(exclude_unset=True)
        if viewer.user.id != user_id:
            self._require_may_manage(viewer, role)
        elif not self._may_manage(viewer, role):
            # Editing oneself: the profile, never what decides one's access.
            refused = sorted(set(changes) - SELF_EDITABLE)
            if refused:
                raise Forbidden(f"you may not change your own {', '.join(refused)}",
                                field=refused[0])
        if "group_id" in changes:
            viewer.require_admin("change a user's group")
            new_role = self._role(changes["group_id"])
            if (new_role is Role.CUSTOMER) != (user.kind is UserKind.CUSTOMER):
                # Well-formed, but not for this user: a 422, as any unusable reference.
                raise UnknownReference("a customer cannot become staff or the reverse by "
                                       "group; create a new user", field="group_id")
        previous = user.version
        added: list[tuple[str, str]] = []
        removed: list[tuple[str, str]] = []
        new_email = changes.pop("email", None)
        if new_email and new_email != user.email:
            if user.email:
                removed.append(("email", user.email))
                user.contacts = [c for c in user.contacts if c.value != user.email]
            added.append(("email", new_email))
            user.contacts.append(Contact(kind="email", value=new_email))
            user.email = new_email
        old_phone = to_e164(user.phone) if user.phone else None
        self._apply(user, changes)
        new_phone = to_e164(user.phone) if user.phone else None
        if new_phone != old_phone:
            # The phone contact follows the phone field (callers are matched by it).
            if old_phone and any(c.kind == "phone" and c.value == old_phone
                                 for c in user.contacts):
                removed.append(("phone", old_phone))
                user.contacts = [c for c in user.contacts
                                 if not (c.kind == "phone" and c.value == old_phone)]
            if new_phone and self._free_phone(new_phone):
                added.append(("phone", new_phone))
                user.contacts.append(Contact(kind="phone", value=new_phone))
        user.version = previous + 1
        user.date_updated = self._clock()
        try:
            self._repository.people.save_user(user, previous, added, removed)
        except ContactTaken as taken:
            raise Conflict(f"a user with {taken.kind} {taken.value} already exists",
                           field=taken.kind) from taken
        except StaleVersion as stale:
            raise Conflict(f"user {user_id} was changed meanwhile; read it and retry") from stale
        return user

    def rotate_api_key(self, viewer: Viewer, user_id: int) -> str:
        if viewer.user.id != user_id and viewer.user.id != MAIN_ADMIN_ID:
            raise Forbidden("only the main administrator may issue other users' API keys")
        user = self.get(viewer, user_id)
        if user.kind is not UserKind.STAFF and viewer.user.id != MAIN_ADMIN_ID:
            raise Forbidden("customers get API keys from the main administrator")
        api_key = new_api_key()
        previous = user.version
        user.api_key_hash = hash_api_key(api_key)
        user.version = previous + 1
        try:
            self._repository.people.save_user(user, previous)
        except StaleVersion as stale:
            raise Conflict(f"user {user_id} was changed meanwhile; retry") from stale
        return api_key

    def delete(self, viewer: Viewer, user_id: int) -> None:
        user = self._repository.people.get_user(user_id)
        if user is None or not viewer.is_staff:
            raise NotFound(f"user {user_id} does not exist")
        if user_id in (viewer.user.id, MAIN_ADMIN_ID):
            raise Forbidden("neither yourself nor the main administrator can be deleted")
        self._require_may_manage(viewer, self._dictionaries.role_of_group(user.group_id))
        self._repository.people.erase_user(user)

    def find_or_create_customer(self, email: str, name: str | None) -> User:
        """The customer owning this address, created on first contact. Safe under races:
        the contact item is unique, so a concurrent creator loses and reads the winner."""
        existing = self._repository.people.user_by_contact("email", email)
        if existing is not None:
            return existing
        user = self._new_user(UserKind.CUSTOMER, CUSTOMER_GROUP, name or email.split("@")[0],
                              email)
        try:
            self._repository.people.save_user(user, None, [("email", email)])
        except ContactTaken:
            winner = self._repository.people.user_by_contact("email", email)
            if winner is None:
                raise
            return winner
        return user

    def find_or_create_by_contacts(self, contacts: builtins.list[tuple[str, str]], name: str,
                                   phone: str = "") -> User:
        """The customer owning the first of these contacts that is known (messenger id, then
        phone, then e-mail: the caller's order), who learns the others; else a new customer
        with all of them. Contact items are unique, so racing first messages make one
        customer: the loser re-reads the winner."""
        contacts = list(dict.fromkeys((k, v) for k, v in contacts if v))
        for _ in range(3):
            found = next((user for kind, value in contacts
                          if (user := self._repository.people.user_by_contact(kind, value))), None)
            if found is not None:
                return self._learn(found, contacts)
            email = next((v for k, v in contacts if k == "email"), None)
            user = self._new_user(UserKind.CUSTOMER, CUSTOMER_GROUP, name or "Customer",
                                  email or "")
            user.email, user.phone = email, phone
            user.contacts = [Contact(kind=k, value=v) for k, v in contacts]
            try:
                self._repository.people.save_user(user, None, contacts)
                return user
            except ContactTaken:
                continue  # someone created him meanwhile: read again
        raise Conflict("the customer is being created by another request; retry")

    def _free_phone(self, raw: str) -> str | None:
        """The E.164 form of a phone nobody else has claimed (a shared office line stays
        with its first owner)."""
        phone = to_e164(raw) if raw else None
        if phone and self._repository.people.user_by_contact("phone", phone) is None:
            return phone
        return None

    def _learn(self, user: User, contacts: builtins.list[tuple[str, str]]) -> User:
        """Adds contacts nobody owns yet (a contact of another customer stays his)."""
        known = {(c.kind, c.value) for c in user.contacts}
        for kind, value in contacts:
            if (kind, value) in known or self._repository.people.user_by_contact(kind, value):
                continue
            previous = user.version
            user.contacts = [*user.contacts, Contact(kind=kind, value=value)]
            user.version = previous + 1
            try:
                self._repository.people.save_user(user, previous, [(kind, value)])
            except (ContactTaken, StaleVersion):
                return self._repository.people.get_user(user.id) or user
        return user

    def install_admin(self, email: str, api_key: str, name: str = "Administrator") -> User:
        """Bootstrap: the main administrator with a known key (idempotent)."""
        existing = self._repository.people.user_by_contact("email", email)
        if existing is not None:
            if existing.api_key_hash != hash_api_key(api_key):
                previous = existing.version
                existing.api_key_hash = hash_api_key(api_key)
                existing.version = previous + 1
                self._repository.people.save_user(existing, previous)
            return existing
        user = self._new_user(UserKind.STAFF, ADMIN_GROUP, name, email)
        user.api_key_hash = hash_api_key(api_key)
        self._repository.people.save_user(user, None, [("email", email)])
        return user

    # --- helpers ---------------------------------------------------------------------------
    def _new_user(self, kind: UserKind, group_id: int, name: str, email: str) -> User:
        """A new user; a customer whose mail domain an organization claims joins it."""
        now = self._clock()
        organization = (
            self._repository.people.organization_by_domain(email.rpartition("@")[2])
            if kind is UserKind.CUSTOMER else None
        )
        return User(
            organiz_id=organization.id if organization else None,
            organization=organization.name if organization else "",
            id=self._repository.ids.next_id("user"),
            kind=kind,
            group_id=group_id,
            name=name,
            email=email,
            contacts=[Contact(kind="email", value=email)],
            date_created=now,
            date_updated=now,
            version=1,
        )

    def _role(self, group_id: int) -> Role:
        try:
            return self._dictionaries.role_of_group(group_id)
        except NotFound as missing:
            raise UnknownReference(f"group {group_id} does not exist",
                                   field="group_id") from missing

    def _may_manage(self, viewer: Viewer, role: Role) -> bool:
        try:
            self._require_may_manage(viewer, role)
        except Forbidden:
            return False
        return True

    def _require_may_manage(self, viewer: Viewer, role: Role) -> None:
        if role is Role.CUSTOMER:
            viewer.require_staff("manage customers")
        elif role is Role.ADMIN and viewer.user.id != MAIN_ADMIN_ID:
            raise Forbidden("only the main administrator may manage administrators")
        else:
            viewer.require_admin("manage staff")

    def _apply(self, user: User, changes: dict[str, object]) -> None:
        password = changes.pop("password", None)
        if isinstance(password, str):
            user.password_hash = hash_password(password)
        departments = cast("list[int]", changes.get("department") or [])
        for department_id in departments:
            self._dictionaries.require("departments", department_id, "department")
        if (status := changes.get("user_status")) is not None:
            self._dictionaries.require("user_statuses", cast("int | str", status), "user_status")
        organization_id = changes.get("organiz_id")
        if organization_id is not None and self._repository.people.get_organization(
                cast("int", organization_id)) is None:
            raise UnknownReference(f"organization {organization_id} does not exist",
                                   field="organiz_id")
        for name, value in changes.items():
            if value is not None or name in {"organiz_id", "user_status"}:
                setattr(user, name, value)


def _matches(user: User, wanted: UserFilter) -> bool:
    if wanted.group_id is not None and user.group_id != wanted.group_id:
        return False
    if wanted.department_id is not None and wanted.department_id not in user.department:
        return False
    if wanted.status is not None and user.status != wanted.status:
        return False
    if wanted.user_status is not None and user.user_status != wanted.user_status:
        return False
    return wanted.organization_id is None or user.organiz_id == wanted.organization_id
