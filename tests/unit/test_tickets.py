"""Ticket lifecycle on the in-memory table."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from helpdesk.errors import Conflict, Forbidden, InvalidInput, NotFound
from helpdesk.inputs import MessageCreate, TicketCreate, TicketUpdate, UserCreate
from helpdesk.store.collection import StaleVersion
from helpdesk.tickets import TicketFilter
from tests.conftest import ADMIN_EMAIL, ADMIN_KEY
from tests.support.stream import IndexingFeed


@pytest.fixture
def admin(helpdesk):
    return helpdesk.users.authenticate(ADMIN_EMAIL, ADMIN_KEY)


def _agent(helpdesk, admin, email: str, departments: list[int]):
    _, key = helpdesk.users.create(
        admin, UserCreate(name="Agent", email=email, group_id=2, department=departments))
    return helpdesk.users.authenticate(email, key)


def test_ticket_for_a_new_email_creates_the_customer_and_first_post(helpdesk, admin):
    ticket = helpdesk.tickets.create(admin, TicketCreate(
        title="Не работает оплата", description="Деньги списались", user_email="Ivan@Mail.RU",
        user_name="Иван"))
    assert ticket.unique_id == f"HD-{ticket.id}"
    customer = helpdesk.repository.people.user_by_contact("email", "ivan@mail.ru")
    assert customer.name == "Иван" and ticket.user_id == customer.id
    posts = helpdesk.tickets.messages(admin, ticket.id, "post")
    assert [(p.text, p.author_type.value) for p in posts] == [("Деньги списались", "customer")]
    again = helpdesk.tickets.create(admin, TicketCreate(title="2nd", user_email="ivan@mail.ru"))
    assert again.user_id == customer.id


def test_every_change_is_audited_with_old_and_new(helpdesk, admin):
    ticket = helpdesk.tickets.create(admin, TicketCreate(title="x", user_email="c@x.io"))
    helpdesk.tickets.update(admin, ticket.id, TicketUpdate(status_id="pending", owner_id=1))
    events = helpdesk.tickets.audit(admin, ticket.id)
    assert [e.kind for e in events] == ["created", "updated"]
    changed = {c.field: (c.old, c.new) for c in events[1].changes}
    assert changed == {"status_id": ("open", "pending"), "owner_id": (None, 1)}
    assert events[1].actor.type.value == "staff" and events[1].actor.id == admin.user.id


def test_an_update_that_changes_nothing_writes_no_event(helpdesk, admin):
    ticket = helpdesk.tickets.create(admin, TicketCreate(title="x", user_email="c@x.io"))
    same = helpdesk.tickets.update(admin, ticket.id, TicketUpdate(status_id="open"))
    assert same.version == ticket.version
    assert len(helpdesk.tickets.audit(admin, ticket.id)) == 1


def test_customer_post_reopens_a_closed_ticket_but_staff_post_does_not(helpdesk, admin):
    ticket = helpdesk.tickets.create(admin, TicketCreate(title="x", user_email="c@x.io"))
    helpdesk.tickets.update(admin, ticket.id, TicketUpdate(status_id="closed"))
    helpdesk.tickets.add_message(admin, ticket.id, "post", MessageCreate(text="bye"))
    assert helpdesk.tickets.get(admin, ticket.id).status_id == "closed"
    helpdesk.tickets.add_message(admin, ticket.id, "post",
                                 MessageCreate(text="one more thing", user_id=ticket.user_id))
    reopened = helpdesk.tickets.get(admin, ticket.id)
    assert reopened.status_id == "open"
    last = helpdesk.tickets.audit(admin, ticket.id)[-1]
    assert last.actor.type.value == "customer"
    assert {c.field for c in last.changes} == {"post", "status_id"}


def test_agents_see_only_their_departments(helpdesk, admin):
    sales = helpdesk.dictionaries.add(admin, "departments", {"en": "Sales"}, None, {})
    agent = _agent(helpdesk, admin, "agent@x.io", [1])
    mine = helpdesk.tickets.create(admin, TicketCreate(title="support", user_email="c@x.io"))
    theirs = helpdesk.tickets.create(admin, TicketCreate(title="sales", user_email="c@x.io",
                                                         department_id=sales.id))
    assert [t.id for t in helpdesk.tickets.list(agent, TicketFilter())] == [mine.id]
    with pytest.raises(NotFound):
        helpdesk.tickets.get(agent, theirs.id)
    with pytest.raises(NotFound):
        helpdesk.tickets.update(agent, theirs.id, TicketUpdate(status_id="closed"))
    with pytest.raises(Forbidden):
        helpdesk.tickets.create(agent, TicketCreate(title="x", department_id=sales.id))


def test_filters_combine(helpdesk, admin, clock):
    feed = IndexingFeed(helpdesk.table)  # the table's stream feeds the search index
    first = helpdesk.tickets.create(admin, TicketCreate(title="Invoice", user_email="a@x.io",
                                                        priority_id=3))
    clock.advance(hours=1)
    second = helpdesk.tickets.create(admin, TicketCreate(title="Login", user_email="b@x.io"))
    helpdesk.tickets.update(admin, second.id, TicketUpdate(owner_id=1))
    listed = helpdesk.tickets.list
    feed.drain()
    assert [t.id for t in listed(admin, TicketFilter())] == [second.id, first.id]
    assert [t.id for t in listed(admin, TicketFilter(priority_id=3))] == [first.id]
    assert [t.id for t in listed(admin, TicketFilter(owner_id=1))] == [second.id]
    assert [t.id for t in listed(admin, TicketFilter(search="invoice"))] == [first.id]
    assert [t.id for t in listed(admin, TicketFilter(search="b@x.io"))] == [second.id]
    later = clock.now + timedelta(seconds=1)
    assert [t.id for t in listed(admin, TicketFilter(updated_from=later))] == []
    assert listed(admin, TicketFilter(status_id="open", user_id=first.user_id))[0].id == first.id


def test_invalid_references_name_the_field(helpdesk, admin):
    with pytest.raises(InvalidInput) as bad_status:
        helpdesk.tickets.create(admin, TicketCreate(title="x", status_id="nope"))
    assert bad_status.value.field == "status_id"
    customer = helpdesk.users.find_or_create_customer("c@x.io", None)
    with pytest.raises(InvalidInput) as bad_owner:
        helpdesk.tickets.create(admin, TicketCreate(title="x", owner_id=customer.id))
    assert bad_owner.value.field == "owner_id"


def test_trash_restore_and_delete_for_good(helpdesk, admin):
    ticket = helpdesk.tickets.create(admin, TicketCreate(title="x", user_email="c@x.io"))
    helpdesk.tickets.trash(admin, ticket.id)
    assert helpdesk.tickets.list(admin, TicketFilter()) == []
    assert [t.id for t in helpdesk.tickets.list(admin, TicketFilter(trash=True))] == [ticket.id]
    helpdesk.tickets.restore(admin, ticket.id)
    assert [t.id for t in helpdesk.tickets.list(admin, TicketFilter())] == [ticket.id]
    helpdesk.tickets.erase(admin, ticket.id)
    with pytest.raises(NotFound):
        helpdesk.tickets.get(admin, ticket.id)


def test_a_concurrent_update_is_retried_not_lost(helpdesk, admin, monkeypatch):
    ticket = helpdesk.tickets.create(admin, TicketCreate(title="x", user_email="c@x.io"))
    real_commit = helpdesk.repository.tickets.commit_ticket
    interfered = threading.Event()

    def commit_after_someone_else(ticket_, event, previous, extra=None, **queues):
        if not interfered.is_set():
            interfered.set()  # another writer sneaks in between our read and our write
            helpdesk.tickets.update(admin, ticket.id, TicketUpdate(priority_id=4))
        return real_commit(ticket_, event, previous, extra, **queues)

    monkeypatch.setattr(helpdesk.repository.tickets, "commit_ticket", commit_after_someone_else)
    helpdesk.tickets.update(admin, ticket.id, TicketUpdate(status_id="pending"))
    final = helpdesk.tickets.get(admin, ticket.id)
    assert (final.status_id, final.priority_id) == ("pending", 4)


def test_endless_contention_is_rejected_with_conflict(helpdesk, admin, monkeypatch):
    ticket = helpdesk.tickets.create(admin, TicketCreate(title="x", user_email="c@x.io"))

    def always_stale(*args, **kwargs):
        raise StaleVersion("someone else won")

    monkeypatch.setattr(helpdesk.repository.tickets, "commit_ticket", always_stale)
    with pytest.raises(Conflict):
        helpdesk.tickets.update(admin, ticket.id, TicketUpdate(status_id="pending"))


def test_two_creations_for_one_new_email_make_one_customer(helpdesk, admin):
    results = []

    def create() -> None:
        results.append(helpdesk.users.find_or_create_customer("race@x.io", None).id)

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 1


def test_a_message_joining_a_ticket_read_before_someone_changed_it_keeps_both(helpdesk, admin):
    """The channel's threading read the ticket; an agent changes it before the message is
    written: the message starts from the read ticket, loses the version check, and lands on
    the agent's version (nothing of either is lost)."""
    from helpdesk.tickets import Inbound

    ticket = helpdesk.tickets.create(admin, TicketCreate(title="x", user_email="c@x.io"))
    read = helpdesk.repository.tickets.get_ticket(ticket.id)
    helpdesk.tickets.update(admin, ticket.id, TicketUpdate(priority_id=3))
    customer = helpdesk.repository.people.get_user(ticket.user_id)
    message = helpdesk.tickets.add_inbound(ticket.id, Inbound(author=customer, text="Ещё"),
                                           read)
    stored = helpdesk.tickets.get(admin, ticket.id)
    assert stored.priority_id == 3 and stored.version == ticket.version + 2
    posts = helpdesk.tickets.messages(admin, ticket.id, "post")
    assert posts[-1].id == message.id and posts[-1].text == "Ещё"
