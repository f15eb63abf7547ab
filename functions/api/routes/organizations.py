"""Customer organizations (/api/v2/organizations/...)."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from api.deps import current
from api.requests import Query, page_pagination, page_size, parse, path_id
from api.routing import data, endpoint, viewer
from api.views import organization_view
from helpdesk.inputs import OrganizationCreate, OrganizationUpdate
from helpdesk.models import Organization
from helpdesk.organizations import OrganizationFilter

organizations = Blueprint(__name__)


def _view(organization: Organization) -> dict[str, Any]:
    return organization_view(organization, current().organizations.employees(organization))


@endpoint(organizations, "/organizations", ("GET",))
def list_organizations() -> Any:
    query = Query(organizations.current_request)
    wanted = OrganizationFilter(manager_id=query.number("manager_id"),
                                employee_id=query.number("employee_id"),
                                search=query.text("search"))
    page, per_page = page_size(query)
    found = current().organizations.page(viewer(), wanted, page, per_page)
    return data([_view(o) for o in found.items],
                pagination=page_pagination(len(found.items), found.more, query))


@endpoint(organizations, "/organizations", ("POST",))
def create_organization() -> Any:
    fields = parse(OrganizationCreate, organizations.current_request)
    return data(_view(current().organizations.create(viewer(), fields)))


@endpoint(organizations, "/organizations/{organization_id}", ("GET",))
def get_organization(organization_id: str) -> Any:
    number = path_id(organization_id, "organization_id")
    return data(_view(current().organizations.get(viewer(), number)))


@endpoint(organizations, "/organizations/{organization_id}", ("PUT",))
def update_organization(organization_id: str) -> Any:
    fields = parse(OrganizationUpdate, organizations.current_request)
    number = path_id(organization_id, "organization_id")
    return data(_view(current().organizations.update(viewer(), number, fields)))


@endpoint(organizations, "/organizations/{organization_id}", ("DELETE",))
def delete_organization(organization_id: str) -> Any:
    number = path_id(organization_id, "organization_id")
    current().organizations.delete(viewer(), number)
    return data({"id": number, "deleted": True})
