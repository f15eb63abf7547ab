"""Customer organizations. Membership is the user's `organiz_id` (one source of truth, with
an index of users by organization); `employees` on input moves users in and out."""

from __future__ import annotations

import builtins
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from helpdesk.access import Viewer
from helpdesk.errors import Conflict, NotFound, UnknownReference
from helpdesk.inputs import OrganizationCreate, OrganizationFields, OrganizationUpdate
from helpdesk.models import Organization, User, UserKind
from helpdesk.record_pages import RecordPage, read_page
from helpdesk.search.queries import SEARCH_RESULTS, Search
from helpdesk.store.collection import StaleVersion
from helpdesk.store.people import DomainTaken
from helpdesk.store.repository import Repository

MAX_ATTEMPTS = 5


@dataclass
class OrganizationFilter:
    manager_id: int | None = None
    employee_id: int | None = None
    search: str | None = None


class Organizations:
    def __init__(self, repository: Repository, clock: Callable[[], datetime]) -> None:
        self._repository = repository
        self._clock = clock

    def list(self, viewer: Viewer, wanted: OrganizationFilter) -> list[Organization]:
        viewer.require_staff("list organizations")
        found = (Search.on(self._repository).organizations(wanted.search, SEARCH_RESULTS).items
                 if wanted.search else self._repository.people.organizations())
        if wanted.manager_id is not None:
            found = [o for o in found if wanted.manager_id in o.managers]
        if wanted.employee_id is not None:
            member = self._repository.people.get_user(wanted.employee_id)
            found = [o for o in found if member is not None and member.organiz_id == o.id]
        return found

    def page(self, viewer: Viewer, wanted: OrganizationFilter, page: int,
             per_page: int) -> RecordPage[Organization]:
        """One page by name, reading the index up to that page only (a search: its bounded
        result)."""
        if wanted.search or wanted.employee_id is not None:
            found = self.list(viewer, wanted)  # a search's few, or the one of an employee
            return RecordPage(found[(page - 1) * per_page:page * per_page],
                              len(found) > page * per_page)
        viewer.require_staff("list organizations")
        manager = wanted.manager_id
        keep = (lambda organization: manager in organization.managers) if manager else None
        return read_page([self._repository.people.organizations_page], keep, page, per_page)

    def get(self, viewer: Viewer, organization_id: int) -> Organization:
        organization = self._repository.people.get_organization(organization_id)
        member = viewer.user.organiz_id == organization_id
        if organization is None or not (viewer.is_staff or member):
            raise NotFound(f"organization {organization_id} does not exist")
        return organization

    def employees(self, organization: Organization) -> builtins.list[int]:
        return [user.id for user in self._repository.people.users_of_organization(organization.id)]

    def create(self, viewer: Viewer, fields: OrganizationCreate) -> Organization:
        viewer.require_staff("create organizations")
        now = self._clock()
        organization = Organization(id=self._repository.ids.next_id("organization"),
                                    name=fields.name, date_created=now, date_updated=now,
                                    version=1)
        self._apply(organization, fields)
        employees = self._customers(fields.employees)
        self._save(organization, None, [])
        self._set_employees(organization, employees)
        return organization

    def update(self, viewer: Viewer, organization_id: int,
               fields: OrganizationUpdate) -> Organization:
        viewer.require_staff("change organizations")
        employees = self._customers(fields.employees)
        for _ in range(MAX_ATTEMPTS):
            organization = self.get(viewer, organization_id)
            previous, old_domains = organization.version, list(organization.domains)
            if fields.name is not None:
                organization.name = fields.name
            self._apply(organization, fields)
            organization.version = previous + 1
            organization.date_updated = self._clock()
            try:
                self._save(organization, previous, old_domains)
            except StaleVersion:
                continue
            self._set_employees(organization, employees)
            return organization
        raise Conflict(f"organization {organization_id} is being changed by others; try again")

    def delete(self, viewer: Viewer, organization_id: int) -> None:
        viewer.require_admin("delete organizations")
        organization = self.get(viewer, organization_id)
        for member in self._repository.people.users_of_organization(organization_id):
            self._move(member, None)
        self._repository.people.erase_organization(organization)

    # --- helpers ---------------------------------------------------------------------------
    def _apply(self, organization: Organization, fields: OrganizationFields) -> None:
        given = fields.model_dump(exclude_unset=True, exclude={"name", "employees"})
        for manager_id in given.get("managers") or []:
            manager = self._repository.people.get_user(manager_id)
            if manager is None or manager.kind is not UserKind.STAFF:
                raise UnknownReference(f"managers: {manager_id} is not a staff member",
                                       field="managers")
        for name, value in given.items():
            if value is not None:
                setattr(organization, name, value)

    def _save(self, organization: Organization, previous: int | None,
              old_domains: builtins.list[str]) -> None:
        try:
            self._repository.people.save_organization(organization, previous, old_domains)
        except DomainTaken as taken:
            raise Conflict(f"domain {taken.domain} already belongs to another organization",
                           field="domains") from taken

    def _customers(self, user_ids: builtins.list[int] | None) -> builtins.list[User] | None:
        """Checked before anything is written, so a bad id changes nothing."""
        if user_ids is None:
            return None
        users = []
        for user_id in user_ids:
            user = self._repository.people.get_user(user_id)
            if user is None or user.kind is not UserKind.CUSTOMER:
                raise UnknownReference(f"employees: {user_id} is not a customer", field="employees")
            users.append(user)
        return users

    def _set_employees(self, organization: Organization, users: builtins.list[User] | None) -> None:
        if users is None:
            return
        wanted = {user.id for user in users}
        for member in self._repository.people.users_of_organization(organization.id):
            if member.id not in wanted:
                self._move(member, None)
        for user in users:
            if user.organiz_id != organization.id:
                self._move(user, organization)

    def _move(self, user: User, organization: Organization | None) -> None:
        for _ in range(MAX_ATTEMPTS):
            previous = user.version
            user.organiz_id = organization.id if organization else None
            user.organization = organization.name if organization else ""
            user.version = previous + 1
            try:
                self._repository.people.save_user(user, previous)
                return
            except StaleVersion:
                fresh = self._repository.people.get_user(user.id)
                if fresh is None:
                    return
                user = fresh
        raise Conflict(f"user {user.id} is being changed by others; try again")
