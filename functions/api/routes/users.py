"""Staff and customers (/api/v2/users/...)."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from api.deps import current
from api.requests import Query, page_pagination, page_size, parse, path_id
from api.routing import data, endpoint, viewer
from api.views import user_view
from helpdesk.inputs import UserCreate, UserUpdate
from helpdesk.users import UserFilter

users = Blueprint(__name__)


@endpoint(users, "/users", ("GET",))
def list_users() -> Any:
    query = Query(users.current_request)
    wanted = UserFilter(
        group_id=query.number("group_id"),
        department_id=query.number("department_id"),
        status=query.choice("status", {"active", "disabled"}),
        user_status=query.number("user_status"),
        organization_id=query.number("organization_id"),
        search=query.text("search"),
    )
    page, per_page = page_size(query)
    found = current().users.page(viewer(), wanted, page, per_page)
    return data([user_view(user, staff=viewer().is_staff) for user in found.items],
                pagination=page_pagination(len(found.items), found.more, query))


@endpoint(users, "/users", ("POST",))
def create_user() -> Any:
    user, api_key = current().users.create(viewer(), parse(UserCreate, users.current_request))
    view = user_view(user)
    if api_key:
        view["api_key"] = api_key  # shown once: only its hash is stored
    return data(view)


@endpoint(users, "/users/{user_id}", ("GET",))
def get_user(user_id: str) -> Any:
    user = current().users.get(viewer(), path_id(user_id, "user_id"))
    return data(user_view(user, staff=viewer().is_staff))


@endpoint(users, "/users/{user_id}", ("PUT",))
def update_user(user_id: str) -> Any:
    fields = parse(UserUpdate, users.current_request)
    user = current().users.update(viewer(), path_id(user_id, "user_id"), fields)
    return data(user_view(user, staff=viewer().is_staff))


@endpoint(users, "/users/{user_id}", ("DELETE",))
def delete_user(user_id: str) -> Any:
    number = path_id(user_id, "user_id")
    current().users.delete(viewer(), number)
    return data({"id": number, "deleted": True})


@endpoint(users, "/users/{user_id}/api_key", ("POST",))
def rotate_api_key(user_id: str) -> Any:
    number = path_id(user_id, "user_id")
    return data({"id": number, "api_key": current().users.rotate_api_key(viewer(), number)})
