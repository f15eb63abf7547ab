"""Users, API keys and the per-key rate limit."""

from __future__ import annotations

import pytest

from helpdesk.errors import Conflict, Forbidden, RateLimited, Unauthorized
from helpdesk.inputs import UserCreate, UserUpdate
from helpdesk.ratelimit import RateLimiter
from helpdesk.users import UserFilter
from tests.conftest import ADMIN_EMAIL, ADMIN_KEY
from tests.support.stream import IndexingFeed


@pytest.fixture
def admin(helpdesk):
    return helpdesk.users.authenticate(ADMIN_EMAIL, ADMIN_KEY)


def test_keys_are_stored_hashed_and_shown_once(helpdesk, admin):
    user, key = helpdesk.users.create(admin, UserCreate(name="Ann", email="ann@x.io", group_id=2))
    stored = helpdesk.repository.people.get_user(user.id)
    assert key and key not in stored.model_dump_json()
    assert helpdesk.users.authenticate("ANN@x.io", key).user.id == user.id
    with pytest.raises(Unauthorized):
        helpdesk.users.authenticate("ann@x.io", key + "x")
    new_key = helpdesk.users.rotate_api_key(admin, user.id)
    with pytest.raises(Unauthorized):
        helpdesk.users.authenticate("ann@x.io", key)
    assert helpdesk.users.authenticate("ann@x.io", new_key).user.id == user.id


def test_disabled_users_cannot_call(helpdesk, admin):
    user, key = helpdesk.users.create(admin, UserCreate(name="Bo", email="bo@x.io", group_id=2))
    helpdesk.users.update(admin, user.id, UserUpdate(status="disabled"))
    with pytest.raises(Unauthorized):
        helpdesk.users.authenticate("bo@x.io", key)


def test_email_is_unique_across_users(helpdesk, admin):
    helpdesk.users.create(admin, UserCreate(name="A", email="a@x.io"))
    with pytest.raises(Conflict):
        helpdesk.users.create(admin, UserCreate(name="B", email="A@x.io"))
    other, _ = helpdesk.users.create(admin, UserCreate(name="C", email="c@x.io"))
    with pytest.raises(Conflict):
        helpdesk.users.update(admin, other.id, UserUpdate(email="a@x.io"))


def test_changing_email_moves_the_login(helpdesk, admin):
    user, key = helpdesk.users.create(admin, UserCreate(name="D", email="d@x.io", group_id=2))
    helpdesk.users.update(admin, user.id, UserUpdate(email="d2@x.io"))
    assert helpdesk.users.authenticate("d2@x.io", key).user.id == user.id
    assert helpdesk.repository.people.user_by_contact("email", "d@x.io") is None


def test_agents_cannot_manage_staff(helpdesk, admin):
    _, key = helpdesk.users.create(admin, UserCreate(name="E", email="e@x.io", group_id=2))
    agent = helpdesk.users.authenticate("e@x.io", key)
    with pytest.raises(Forbidden):
        helpdesk.users.create(agent, UserCreate(name="F", email="f@x.io", group_id=1))
    customer, _ = helpdesk.users.create(agent, UserCreate(name="G", email="g@x.io"))
    assert customer.kind.value == "customer"


def test_user_filters(helpdesk, admin):
    feed = IndexingFeed(helpdesk.table)  # the table's stream feeds the search index
    helpdesk.users.create(admin, UserCreate(name="Staff", email="s@x.io", group_id=2,
                                            department=[1]))
    helpdesk.users.create(admin, UserCreate(name="Client Иванов", email="ci@x.io"))
    names = lambda wanted: sorted(u.name for u in helpdesk.users.list(admin, wanted))  # noqa: E731
    assert names(UserFilter(group_id=3)) == ["Client Иванов"]
    assert names(UserFilter(department_id=1)) == ["Staff"]
    feed.drain()
    assert names(UserFilter(search="иванов")) == ["Client Иванов"]
    assert names(UserFilter(search="ивановым")) == ["Client Иванов"]
    assert names(UserFilter(search="Cli")) == ["Client Иванов"]


def test_rate_limit_blocks_past_the_limit_and_unblocks_later(helpdesk, clock):
    limiter = RateLimiter(helpdesk.repository.rates, clock, per_minute=5, block_seconds=60)
    assert [limiter.hit("k").remaining for _ in range(5)] == [4, 3, 2, 1, 0]
    with pytest.raises(RateLimited):
        limiter.hit("k")
    clock.advance(seconds=30)
    with pytest.raises(RateLimited):  # still blocked, though a new minute may have begun
        limiter.hit("k")
    assert limiter.hit("other").remaining == 4  # per key
    clock.advance(seconds=61)
    assert limiter.hit("k").remaining == 4
