"""One contract for both Table implementations (in-memory fake and moto's DynamoDB)."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest

from helpdesk.changes import SEARCH_TEXT_LIMIT, TicketChange
from helpdesk.models import Actor, ActorType, Contact, Ticket, TicketEvent, User, UserKind
from helpdesk.records import Records
from helpdesk.rules.model import Rule
from helpdesk.store import keys
from helpdesk.store.collection import StaleVersion
from helpdesk.store.links import Links
from helpdesk.store.people import ContactTaken
from helpdesk.store.repository import Repository
from helpdesk.store.table import (
    Add,
    Check,
    Condition,
    ConditionFailed,
    Delete,
    KeyRange,
    Put,
    QueryRequest,
    TransactionConflict,
    query_all,
)
from tests.support.concurrency import at_once
from tests.support.timeouts import HANG_GUARD

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_conditional_put_refuses_to_overwrite(table):
    table.put({"PK": "A", "SK": "1", "v": 1}, Condition.item_absent())
    with pytest.raises(ConditionFailed):
        table.put({"PK": "A", "SK": "1", "v": 2}, Condition.item_absent())
    assert table.get("A", "1") == {"PK": "A", "SK": "1", "v": 1}


def test_put_conditional_on_attribute_value(table):
    table.put({"PK": "A", "SK": "1", "version": 3})
    with pytest.raises(ConditionFailed):
        table.put({"PK": "A", "SK": "1", "version": 5}, Condition.attrs_equal(version=4))
    table.put({"PK": "A", "SK": "1", "version": 4}, Condition.attrs_equal(version=3))
    assert table.get("A", "1")["version"] == 4


def test_conditions_on_missing_items(table):
    with pytest.raises(ConditionFailed):
        table.put({"PK": "A", "SK": "1"}, Condition.attrs_equal(version=1))
    with pytest.raises(ConditionFailed):
        table.delete("A", "1", Condition.item_exists())
    assert table.get("A", "1") is None


def test_transaction_is_all_or_nothing(table):
    table.put({"PK": "A", "SK": "taken"})
    with pytest.raises(TransactionConflict) as failure:
        table.transact([
            Put({"PK": "A", "SK": "new"}, Condition.item_absent()),
            Put({"PK": "A", "SK": "taken"}, Condition.item_absent()),
        ])
    assert failure.value.reasons == ["None", "ConditionalCheckFailed"]
    assert table.get("A", "new") is None


def test_transaction_with_check_and_delete(table):
    table.put({"PK": "A", "SK": "1", "state": "ok"})
    table.put({"PK": "A", "SK": "2"})
    table.transact([
        Check("A", "1", Condition.attrs_equal(state="ok")),
        Delete("A", "2"),
        Put({"PK": "A", "SK": "3", "nested": {"list": [1, "two", {"x": None}]}}),
    ])
    assert table.get("A", "2") is None
    assert table.get("A", "3")["nested"] == {"list": [1, "two", {"x": None}]}


def test_query_prefix_order_and_pages(table):
    for number in range(7):
        table.put({"PK": "P", "SK": f"POST#{number:03}", "n": number})
    table.put({"PK": "P", "SK": "EVENT#001"})
    request = QueryRequest(pk="P", sk=KeyRange(prefix="POST#"), limit=3)
    first = table.query(request)
    assert [i["n"] for i in first.items] == [0, 1, 2]
    assert first.next_key is not None
    everything = query_all(table, QueryRequest(pk="P", sk=KeyRange(prefix="POST#"),
                                               newest_first=True))
    assert [i["n"] for i in everything] == [6, 5, 4, 3, 2, 1, 0]
    paged = query_all(table, QueryRequest(pk="P", sk=KeyRange(prefix="POST#")))
    assert [i["n"] for i in paged] == list(range(7))


def test_query_range_on_sparse_index(table):
    for number in range(5):
        item = {"PK": f"T#{number}", "SK": "T", "GSI2PK": "DEPT#1", "GSI2SK": f"2026-0{number + 1}"}
        table.put(item)
    table.put({"PK": "T#9", "SK": "T"})  # no index keys: not in the index
    found = query_all(table, QueryRequest(pk="DEPT#1", index="GSI2",
                                          sk=KeyRange(low="2026-02", high="2026-04")))
    assert sorted(i["PK"] for i in found) == ["T#1", "T#2", "T#3"]


def test_increment_counts_from_zero_atomically(table):
    assert table.increment("COUNTER", "ticket", "value") == 1
    assert table.increment("COUNTER", "ticket", "value") == 2
    assert table.increment("COUNTER", "ticket", "value", 10) == 12


def test_increment_if_honours_its_condition(table):
    with pytest.raises(ConditionFailed):
        table.increment_if("R", "R", "count", Condition.attrs_equal(window=1))
    table.put({"PK": "R", "SK": "R", "window": 1, "count": 1})
    assert table.increment_if("R", "R", "count", Condition.attrs_equal(window=1))["count"] == 2
    with pytest.raises(ConditionFailed):
        table.increment_if("R", "R", "count", Condition.attrs_equal(window=2))


def test_get_many_answers_existing_items_in_the_order_asked(table):
    for number in range(150):  # more than one BatchGetItem call holds
        table.put({"PK": f"T#{number:03}", "SK": "T", "n": number})
    wanted = [(f"T#{number:03}", "T") for number in (149, 3, 77, 500, 0)] + [
        (f"T#{number:03}", "T") for number in range(10, 120)]
    found = table.get_many(wanted)
    assert [item["n"] for item in found] == [149, 3, 77, 0, *range(10, 120)]
    assert table.get_many([]) == []


def test_update_sets_attributes_of_an_existing_item_only_when_asked_to(table):
    table.put({"PK": "T#1", "SK": "EVENT#1", "kind": "created", "workflow_status": "PENDING"})
    table.update("T#1", "EVENT#1", {"workflow_status": "SUCCEEDED", "rules_evaluated": 0},
                 Condition.item_exists())
    assert table.get("T#1", "EVENT#1") == {"PK": "T#1", "SK": "EVENT#1", "kind": "created",
                                           "workflow_status": "SUCCEEDED", "rules_evaluated": 0}
    with pytest.raises(ConditionFailed):
        table.update("T#2", "EVENT#1", {"workflow_status": "SUCCEEDED"},
                     Condition.item_exists())
    assert table.get("T#2", "EVENT#1") is None


def test_write_many_puts_and_deletes_more_than_one_batch(table):
    table.put({"PK": "T#gone", "SK": "T"})
    table.write_many([{"PK": f"T#{n:03}", "SK": "T", "n": n} for n in range(60)],
                     [("T#gone", "T"), ("T#never", "T")])
    assert [item["n"] for item in table.get_many([(f"T#{n:03}", "T") for n in range(60)])] \
        == list(range(60))
    assert table.get("T#gone", "T") is None
    table.write_many([], [(f"T#{n:03}", "T") for n in range(30)])
    assert len(table.get_many([(f"T#{n:03}", "T") for n in range(60)])) == 30


def test_a_counter_moves_with_its_transaction_or_not_at_all(table):
    table.transact([Put({"PK": "T#1", "SK": "T"}, Condition.item_absent()),
                    Add("COUNT#open", "COUNT", "n", 1)])
    table.transact([Put({"PK": "T#2", "SK": "T"}, Condition.item_absent()),
                    Add("COUNT#open", "COUNT", "n", 1)])
    with pytest.raises(TransactionConflict):
        table.transact([Put({"PK": "T#1", "SK": "T"}, Condition.item_absent()),
                         Add("COUNT#open", "COUNT", "n", 1)])
    table.transact([Delete("T#2", "T"), Add("COUNT#open", "COUNT", "n", -1)])
    assert table.get("COUNT#open", "COUNT")["n"] == 1


# --- the repository on top: the domain's persistence rules -----------------------------------
def _ticket(ticket_id: int, updated: datetime, **fields) -> Ticket:
    return Ticket(id=ticket_id, unique_id=f"HD-{ticket_id}", title="t", date_created=updated,
                  date_updated=updated, version=1, **fields)


def _event(ticket: Ticket) -> TicketEvent:
    return TicketEvent(event_id=f"{ticket.id}-{ticket.version}", ticket_id=ticket.id,
                       version=ticket.version, kind="created", actor=Actor.system())


def test_ticket_and_event_commit_together_with_optimistic_locking(table):
    repository = Repository(table)
    ticket = _ticket(1, T0)
    repository.tickets.commit_ticket(ticket, _event(ticket), None)
    with pytest.raises(StaleVersion):  # creating it twice
        repository.tickets.commit_ticket(ticket, _event(ticket), None)
    changed = ticket.model_copy(update={"title": "new", "version": 2})
    repository.tickets.commit_ticket(changed, _event(changed), 1)
    stale = ticket.model_copy(update={"title": "lost?", "version": 2})
    with pytest.raises(StaleVersion):
        repository.tickets.commit_ticket(stale, _event(stale), 1)
    assert repository.tickets.get_ticket(1).title == "new"
    assert [e.version for e in repository.tickets.events(1)] == [1, 2]


def test_a_change_intent_commits_with_its_ticket_and_a_claim_made_twice_fails_it(table):
    """What a change writes besides the ticket (messages, removals, claims) lands in the
    ticket's transaction: a second change claiming the same mail or marker writes nothing."""
    from helpdesk.changes import ConversationLink, Done, MailLink, ProviderMessageLink, TicketChange
    from helpdesk.models import Message
    from helpdesk.store.markers import SES_MESSAGE, TableMarkers

    repository, links = Repository(table), Links(table)

    def post(message_id: int, ticket_id: int = 1) -> Message:
        return Message(id=message_id, ticket_id=ticket_id, text=f"post {message_id}", user_id=7,
                       author_type=ActorType.CUSTOMER,
                       date_created=T0, date_updated=T0)

    ticket = _ticket(1, T0)
    repository.tickets.commit_ticket(ticket, _event(ticket), None, TicketChange(
        messages=[("post", post(10))],
        claims=[MailLink("<a@mail>", 10), Done(SES_MESSAGE, "ses-1", {"post_id": 10}),
                ConversationLink(3, "chat-9", None), ProviderMessageLink(3, "m-77", 10)]))
    assert [m.id for m in repository.tickets.messages("post", 1)] == [10]
    assert links.mail_message("<a@mail>")["post_id"] == 10
    assert TableMarkers(table).get(SES_MESSAGE, "ses-1")["post_id"] == 10
    assert links.conversation(3, "chat-9")["ticket_id"] == 1
    assert links.channel_message(3, "m-77")["post_id"] == 10

    again = ticket.model_copy(update={"version": 2})
    for claim in (MailLink("<a@mail>", 11), Done(SES_MESSAGE, "ses-1"),
                  ConversationLink(3, "chat-9", None)):
        with pytest.raises(StaleVersion):
            repository.tickets.commit_ticket(again, _event(again), 1, TicketChange(
                messages=[("post", post(11))], claims=[claim]))
    assert [m.id for m in repository.tickets.messages("post", 1)] == [10]  # nothing of the copies
    assert [e.version for e in repository.tickets.events(1)] == [1]

    later = ticket.model_copy(update={"version": 2})
    repository.tickets.commit_ticket(later, _event(later), 1, TicketChange(
        removed=[("post", 10)], messages=[("comment", post(12))],
        claims=[ConversationLink(3, "chat-9", 1)]))  # the chat moves on from ticket 1
    assert repository.tickets.messages("post", 1) == []
    assert [m.id for m in repository.tickets.messages("comment", 1)] == [12]


def test_ticket_indexes_order_by_last_update(table):
    repository = Repository(table)
    for number in range(1, 4):
        ticket = _ticket(number, T0 + timedelta(minutes=number), department_id=7, owner_id=3)
        repository.tickets.commit_ticket(ticket, _event(ticket), None)
    newest_first = repository.tickets.tickets_in(*keys.tickets_by_department(7), KeyRange())
    assert [t.id for t in newest_first] == [3, 2, 1]
    by_owner = repository.tickets.tickets_in(*keys.tickets_by_owner(3), KeyRange())
    assert [t.id for t in by_owner] == [3, 2, 1]
    trashed = _ticket(2, T0 + timedelta(hours=1), department_id=7).model_copy(
        update={"trashed": True, "version": 2})
    repository.tickets.commit_ticket(trashed, _event(trashed), 1)
    in_department = repository.tickets.tickets_in(*keys.tickets_by_department(7), KeyRange())
    assert [t.id for t in in_department] == [3, 1]
    in_trash = repository.tickets.tickets_in(*keys.tickets_in_trash(), KeyRange())
    assert [t.id for t in in_trash] == [2]


def test_a_contact_belongs_to_one_user(table):
    repository = Repository(table)
    first = User(id=1, kind=UserKind.CUSTOMER, group_id=3, name="A", email="a@x.io",
                 contacts=[Contact(kind="email", value="a@x.io")], version=1)
    repository.people.save_user(first, None, [("email", "a@x.io")])
    second = first.model_copy(update={"id": 2})
    with pytest.raises(ContactTaken):
        repository.people.save_user(second, None, [("email", "a@x.io")])
    assert repository.people.get_user(2) is None
    assert repository.people.user_by_contact("email", "a@x.io").id == 1


def _next(ticket: Ticket) -> Ticket:
    return ticket.model_copy(update={"version": ticket.version + 1})


def test_a_tickets_search_text_lives_in_its_own_item_grows_to_the_limit_and_stops(table):
    """The search text grows with the conversation: kept apart from the ticket item, so
    reading, writing and indexing the ticket cost the same at its first and 500th post."""
    repository = Repository(table)
    ticket = _ticket(7, T0)
    repository.tickets.commit_ticket(ticket, _event(ticket), None,
                                     TicketChange(searchable=["hd-7 printer"]))
    for text in ("paper jam", "still jammed"):
        ticket = _next(ticket)
        repository.tickets.commit_ticket(ticket, _event(ticket), ticket.version - 1,
                                         TicketChange(searchable=[text]))
    assert repository.tickets.search_text(7) == "hd-7 printer paper jam still jammed"
    assert "search_text" not in table.get(*keys.ticket(7))
    long_text = "x" * SEARCH_TEXT_LIMIT
    for text in (long_text, "never kept"):
        ticket = _next(ticket)
        repository.tickets.commit_ticket(ticket, _event(ticket), ticket.version - 1,
                                         TicketChange(searchable=[text]))
    kept = repository.tickets.search_text(7)
    assert len(kept) == SEARCH_TEXT_LIMIT and kept.startswith("hd-7 printer paper jam")
    repository.tickets.erase_ticket(7)
    assert repository.tickets.search_text(7) is None


def test_a_ticket_stored_with_its_search_text_inline_keeps_it_when_it_next_changes(table):
    repository = Repository(table)
    pk, sk = keys.ticket(8)
    older = {**_ticket(8, T0).model_dump(mode="json"), "search_text": "hd-8 old words",
             "PK": pk, "SK": sk, "item_type": "ticket"}
    table.put(older)
    ticket = repository.tickets.get_ticket(8)
    assert repository.tickets.search_text(8) is None and ticket.search_text == "hd-8 old words"
    changed = _next(ticket)
    repository.tickets.commit_ticket(changed, _event(changed), 1,
                                     TicketChange(searchable=["new words"]))
    assert repository.tickets.search_text(8) == "hd-8 old words new words"
    assert "search_text" not in table.get(*keys.ticket(8))


def test_erasing_a_ticket_removes_everything_under_it(table):
    repository = Repository(table)
    ticket = _ticket(5, T0)
    repository.tickets.commit_ticket(ticket, _event(ticket), None)
    repository.tickets.erase_ticket(5)
    assert repository.tickets.get_ticket(5) is None
    assert repository.tickets.events(5) == []


def test_the_sla_due_index_holds_only_running_clocks_and_reads_only_what_is_due(table):
    from helpdesk.sla.model import TicketSla
    from helpdesk.store.ticket_records import ticket_item

    repository = Repository(table)

    def ticket(number: int, check_in_minutes: int | None) -> Ticket:
        sla = TicketSla(version=2)
        if check_in_minutes is not None:
            sla.next_check = T0 + timedelta(minutes=check_in_minutes)
            sla.next_check_kind = "first_reply.breach"
        return Ticket(id=number, unique_id=f"HD-{number}", title="t", sla=sla)

    for number, minutes in ((1, -5), (2, 0), (3, 30), (4, None), (9, -1)):
        table.put(ticket_item(ticket(number, minutes)))
    due = [sk for shard in range(keys.SLA_SHARDS)
           for sk in repository.tickets.sla_due(shard, keys.stamp(T0), limit=100)]
    assert sorted(keys.parse_sla_due(sk)[1:] for sk in due) == [
        (1, "first_reply.breach", 2), (2, "first_reply.breach", 2), (9, "first_reply.breach", 2)]
    table.put(ticket_item(ticket(1, None)))  # met or paused: out of the index
    left = [keys.parse_sla_due(sk)[1] for shard in range(keys.SLA_SHARDS)
            for sk in repository.tickets.sla_due(shard, keys.stamp(T0), limit=100)]
    assert sorted(left) == [2, 9]


# --- simultaneous writers: every table, the local stack's included (moto as devstack runs it) --
WRITERS = 12
ROUNDS = 10


def test_simultaneous_conditional_puts_of_one_key_have_exactly_one_winner(table):
    for round_ in range(ROUNDS):
        def claim(writer: int, key: str = f"claim-{round_}") -> int:
            table.put({"PK": key, "SK": "1", "writer": writer}, Condition.item_absent())
            return writer

        results = at_once(WRITERS, claim)
        winners = [r for r in results if isinstance(r, int)]
        losers = [r for r in results if not isinstance(r, int)]
        assert len(winners) == 1, results
        assert all(isinstance(r, ConditionFailed) for r in losers), losers
        assert table.get(f"claim-{round_}", "1")["writer"] == winners[0]


def test_simultaneous_version_checked_transactions_never_lose_an_acknowledged_write(table):
    """Each writer reads the counter, waits until every writer has read it too (a forced
    interleaving: all read before anyone commits), then commits version+1 together with its
    own row. One wins per round; the others get a conflict; what was acknowledged is exactly
    what is stored."""
    table.put({"PK": "C", "SK": "counter", "version": 0})
    acknowledged: list[int] = []
    conflicts = 0
    for _ in range(ROUNDS):
        everyone_read = threading.Barrier(WRITERS, timeout=HANG_GUARD)

        def bump(writer: int, everyone_read: threading.Barrier = everyone_read) -> int:
            seen = table.get("C", "counter")["version"]
            everyone_read.wait()
            table.transact([
                Put({"PK": "C", "SK": "counter", "version": seen + 1},
                    Condition.attrs_equal(version=seen)),
                Put({"PK": "C", "SK": f"row-{seen + 1}", "writer": writer},
                    Condition.item_absent()),
            ])
            return seen + 1

        results = at_once(WRITERS, bump)
        won = [r for r in results if isinstance(r, int)]
        failed = [r for r in results if not isinstance(r, int)]
        assert len(won) == 1, results
        assert all(isinstance(r, TransactionConflict) for r in failed), failed
        acknowledged += won
        conflicts += len(failed)
    version = table.get("C", "counter")["version"]
    assert sorted(acknowledged) == list(range(1, version + 1))  # no gap, no double
    rows = query_all(table, QueryRequest(pk="C", sk=KeyRange(prefix="row-")))
    assert len(rows) == version
    assert version == ROUNDS and conflicts == ROUNDS * (WRITERS - 1)


# --- markers: "already done" items, on both tables ---------------------------------------------
def test_a_marker_is_written_once_and_keeps_its_payload(table):
    from helpdesk.store.markers import NOTIFICATION_SENT, RULES_RUN, TableMarkers

    markers = TableMarkers(table)
    assert not markers.seen(RULES_RUN, (7, 3))
    assert markers.get(RULES_RUN, (7, 3)) is None
    assert markers.mark(RULES_RUN, (7, 3), rules_fired=["a"], rules_evaluated=2)
    assert not markers.mark(RULES_RUN, (7, 3), rules_fired=["b"])  # the first one stays
    assert markers.seen(RULES_RUN, (7, 3))
    assert markers.get(RULES_RUN, (7, 3)) == {"rules_fired": ["a"], "rules_evaluated": 2}
    assert not markers.seen(RULES_RUN, (7, 4)) and not markers.seen(NOTIFICATION_SENT, "7-3")
    # a payload attribute may be called `kind`
    assert markers.mark(NOTIFICATION_SENT, "n-1", kind="email")
    assert markers.get(NOTIFICATION_SENT, "n-1") == {"kind": "email"}


def test_a_marker_commits_with_the_work_it_guards_and_only_once(table):
    from helpdesk.store.markers import SLA_ESCALATED, TableMarkers

    markers = TableMarkers(table)
    check = (5, "first_reply.breach", 2)
    table.transact([Put({"PK": "W", "SK": "1"}),
                    markers.marker(SLA_ESCALATED, check, check="sla-5")])
    assert markers.get(SLA_ESCALATED, check) == {"check": "sla-5"}
    with pytest.raises(TransactionConflict):  # a second run: neither work nor marker
        table.transact([Put({"PK": "W", "SK": "2"}),
                        markers.marker(SLA_ESCALATED, check, check="sla-5 again")])
    assert table.get("W", "2") is None
    assert markers.get(SLA_ESCALATED, check) == {"check": "sla-5"}


def test_marker_items_keep_their_stored_keys_and_item_types(table):
    """Markers written before the markers store (by each feature itself) are still found:
    same keys from keys.py, same item types."""
    from helpdesk.store import markers as kinds
    from helpdesk.store.markers import TableMarkers

    markers = TableMarkers(table)
    stored = [
        (kinds.RULES_RUN, (1, 2), ("TICKET#000000000001", "RULESRUN#000000000002"),
         "rules_run"),
        (kinds.SLA_ESCALATED, (1, "resolution.warning", 3),
         ("TICKET#000000000001", "SLAESC#resolution.warning#v000000000003"), "sla_escalated"),
        (kinds.NOTIFICATION_SENT, "k", keys.notification_sent("k"), "notification_sent"),
        (kinds.PERIODIC_SLOT, "20261123T0930", ("PERIODIC", "SLOT#20261123T0930"),
         "periodic_slot"),
        (kinds.CHANNEL_EVENT, (4, "e-1"), ("CHANEVT#4#e-1", "CHANEVT"), "channel_event"),
        (kinds.SES_MESSAGE, "ses-1", ("SESMAIL#ses-1", "SESMAIL"), "ses_message"),
        (kinds.AUTO_REPLY, ("a@x.io", "2026-11-23"), ("AUTOREPLY#a@x.io#2026-11-23",
                                                      "AUTOREPLY"), "auto_reply"),
    ]
    for kind, key, (pk, sk), item_type in stored:
        assert markers.marker(kind, key, n=1).item == {"PK": pk, "SK": sk,
                                                       "item_type": item_type, "n": 1}
        table.put({"PK": pk, "SK": sk, "item_type": item_type, "n": 1})
        assert markers.seen(kind, key) and markers.get(kind, key) == {"n": 1}


def _rule(rule_id: int, name: str, version: int = 1) -> Rule:
    return Rule.model_validate({
        "id": rule_id, "name": name, "kind": "new", "position": rule_id,
        "version": version, "date_created": T0.isoformat(), "date_updated": T0.isoformat(),
        "actions": [{"type": "add_tags", "value": ["vip"]}]})


def test_a_versioned_collection_creates_once_and_replaces_only_the_version_read(table):
    rules = Records.on(table).rules
    rules.save(_rule(1, "VIP"), None)

    with pytest.raises(StaleVersion, match="rule 1 changed meanwhile"):
        rules.save(_rule(1, "created twice"), None)
    rules.save(_rule(1, "VIP customers", version=2), previous_version=1)
    with pytest.raises(StaleVersion):
        rules.save(_rule(1, "from a stale read", version=2), previous_version=1)

    assert rules.get(1) == _rule(1, "VIP customers", version=2)
    assert rules.get(2) is None


def test_a_versioned_collection_lists_its_records_only_and_erases_one(table):
    records = Records.on(table)
    for rule_id in (3, 1, 2):
        records.rules.save(_rule(rule_id, f"rule {rule_id}"), None)
    table.put({"PK": "RULESX", "SK": "RULE#1", "item_type": "other"})

    records.rules.erase(2)

    assert [rule.id for rule in records.rules.all()] == [1, 3]
    assert records.templates.all() == [] and records.channels.all() == []


def test_collection_items_keep_their_stored_keys_and_item_types(table):
    """Records saved before the collections (by Repository's own methods) are still found:
    same keys from keys.py, same item types, rules with their API field names."""
    records = Records.on(table)
    records.rules.save(_rule(7, "VIP"), None)

    item = table.get("RULES", "RULE#000000000007")

    assert item is not None and item["item_type"] == "rule"
    assert item == {"PK": "RULES", "SK": "RULE#000000000007",
                    **_rule(7, "VIP").model_dump(mode="json", by_alias=True),
                    "item_type": "rule"}


def test_a_stale_collection_write_reaches_a_client_as_409_naming_the_record(table):
    from helpdesk.problems import of_domain_error

    rules = Records.on(table).rules
    rules.save(_rule(4, "VIP"), None)
    rules.save(_rule(4, "renamed by another admin", version=2), previous_version=1)

    with pytest.raises(StaleVersion) as stale:
        rules.save(_rule(4, "from the first admin's read", version=2), previous_version=1)
    answer = of_domain_error(stale.value)

    assert answer.status == 409
    assert json.loads(answer.body)["errors"][0] == {
        "code": "conflict", "title": "Conflict",
        "details": "rule 4 changed meanwhile; read it again"}
    assert rules.get(4) == _rule(4, "renamed by another admin", version=2)


def test_links_lead_back_to_the_ticket_and_keep_their_stored_keys(table):
    links = Links(table)
    links.link_mail_message("<a1@mail.example>", 7, direction="inbound", post_id=3)
    links.link_channel_message(2, "tg-55", ticket_id=7, post_id=4, direction="outbound")
    links.mark_bouncing("gone@x.io", status="5.1.1", action="failed")

    assert links.mail_message("<a1@mail.example>") == {
        "PK": "MAIL#<a1@mail.example>", "SK": "MAIL", "item_type": "mail_message",
        "ticket_id": 7, "post_id": 3, "direction": "inbound"}
    assert links.channel_message(2, "tg-55")["post_id"] == 4
    assert links.bouncing("gone@x.io")["status"] == "5.1.1"
    links.clear_bouncing("gone@x.io")
    assert links.bouncing("gone@x.io") is None
    assert links.mail_message("<other@mail.example>") is None


def test_a_chat_session_is_opened_once(table):
    links = Links(table)
    links.open_chat_session("s-1", customer_id=5, channel_id=0, expires_at=1_800_000_000)

    with pytest.raises(ConditionFailed):
        links.open_chat_session("s-1", customer_id=6, channel_id=0, expires_at=1)
    assert links.chat_session("s-1")["customer_id"] == 5


def test_a_calls_timeline_is_written_only_over_the_revision_read(table):
    links = Links(table)
    assert links.save_call(3, "c-9", {"started_at": "t0", "revision": 1}, None)
    first_read = links.call(3, "c-9")
    assert links.save_call(3, "c-9", {**first_read, "answered_at": "t1", "revision": 2},
                           first_read)

    lost = links.save_call(3, "c-9", {**first_read, "ended_at": "t2", "revision": 2},
                           first_read)

    assert lost is False
    assert links.call(3, "c-9") == {"item_type": "call", "started_at": "t0",
                                    "answered_at": "t1", "revision": 2}
    assert not links.save_call(3, "c-9", {"started_at": "again"}, None)


# --- queues: entries and counters move with the ticket -------------------------------------
def _desk(table):
    from tests.conftest import ADMIN_EMAIL, ADMIN_KEY, Clock, make_helpdesk

    desk = make_helpdesk(table, Clock())
    return desk, desk.users.authenticate(ADMIN_EMAIL, ADMIN_KEY)


def _queue(desk, viewer, queue: str | None = None, **wanted) -> list[int]:
    from helpdesk.ticket_pages import Paging
    from helpdesk.tickets import TicketFilter

    found = desk.tickets.page(viewer, TicketFilter(**wanted), Paging(per_page=100), queue)
    return sorted(t.id for t in found.tickets)


def _counts(desk, *names: str) -> dict[str, int]:
    return desk.repository.tickets.queues.counts(names)


def test_queue_entries_and_counts_follow_status_owner_and_tags(table):
    from helpdesk.inputs import TicketCreate, TicketUpdate

    desk, admin = _desk(table)
    first = desk.tickets.create(admin, TicketCreate(title="a", user_email="c@x.io",
                                                    tags=["vip"]))
    second = desk.tickets.create(admin, TicketCreate(title="b", user_email="c@x.io"))
    assert _queue(desk, admin, "open") == [first.id, second.id]
    assert _queue(desk, admin, "tag:vip") == [first.id]
    assert _queue(desk, admin, "unassigned") == [first.id, second.id]
    desk.tickets.update(admin, first.id, TicketUpdate(status_id="pending", owner_id=admin.user.id,
                                                      tags=["billing"]))
    assert _queue(desk, admin, "open") == [second.id]
    assert _queue(desk, admin, "pending") == [first.id]
    assert _queue(desk, admin, "mine") == [first.id]
    assert _queue(desk, admin, "unassigned") == [second.id]
    assert _queue(desk, admin, "tag:vip") == [] and _queue(desk, admin, "tag:billing") == [
        first.id]
    assert _counts(desk, "all", "status:open", "status:pending", "unassigned", "tag:vip",
                   "tag:billing", f"owner:{admin.user.id}", "status:open@d1") == {
        "all": 2, "status:open": 1, "status:pending": 1, "unassigned": 1, "tag:vip": 0,
        "tag:billing": 1, f"owner:{admin.user.id}": 1, "status:open@d1": 1}
    desk.tickets.update(admin, second.id, TicketUpdate(status_id="closed"))
    assert _queue(desk, admin, "unassigned") == []  # a closed ticket waits for no one
    desk.tickets.erase(admin, second.id)
    assert _counts(desk, "all", "status:closed", "customer:" + str(second.user_id)) == {
        "all": 1, "status:closed": 0, "customer:" + str(second.user_id): 1}


def test_trash_and_spam_take_a_ticket_out_of_every_other_queue(table):
    from helpdesk.inputs import TicketCreate, TicketUpdate

    desk, admin = _desk(table)
    ticket = desk.tickets.create(admin, TicketCreate(title="a", user_email="c@x.io",
                                                     tags=["vip"]))
    others = ("all", "status:open", "unassigned", "tag:vip", f"customer:{ticket.user_id}",
              "source:api", "all@d1")
    assert set(_counts(desk, *others).values()) == {1}
    desk.tickets.trash(admin, ticket.id)
    assert set(_counts(desk, *others).values()) == {0}
    assert _counts(desk, "trash", "trash@d1") == {"trash": 1, "trash@d1": 1}
    assert _queue(desk, admin, trash=True) == [ticket.id] and _queue(desk, admin) == []
    desk.tickets.restore(admin, ticket.id)
    desk.tickets.update(admin, ticket.id, TicketUpdate(spam=True))
    assert set(_counts(desk, *others, "trash").values()) == {0}
    assert _queue(desk, admin, "spam") == [ticket.id] and _queue(desk, admin, "open") == []
    audit = desk.tickets.audit(admin, ticket.id)
    assert [c.new for e in audit for c in e.changes if c.field == "spam"] == [True]
    desk.tickets.update(admin, ticket.id, TicketUpdate(spam=False))
    assert set(_counts(desk, *others).values()) == {1} and _counts(desk, "spam") == {"spam": 0}


def test_queue_counters_stay_exact_under_concurrent_changes(table):
    from helpdesk.inputs import TicketCreate, TicketUpdate

    desk, admin = _desk(table)
    tickets = [desk.tickets.create(admin, TicketCreate(title=f"t{n}", user_email="c@x.io"))
               for n in range(4)]
    statuses = ["pending", "closed", "on_hold", "open"]

    def change(index: int) -> None:  # two writers per ticket, racing each other
        ticket = tickets[index % 4]
        desk.tickets.update(admin, ticket.id, TicketUpdate(
            status_id=statuses[index % 4] if index < 4 else "pending", tags=[f"t{index}"]))

    results = at_once(8, change)
    assert not [r for r in results if isinstance(r, Exception)]
    names = [f"status:{s}" for s in statuses] + [f"tag:t{n}" for n in range(8)]
    counts = _counts(desk, *names, "all", "unassigned")
    for name in names:
        assert counts[name] == len(_queue(desk, admin, name)), name
    assert sum(counts[f"status:{s}"] for s in statuses) == 4 == counts["all"]
    assert sum(counts[f"tag:t{n}"] for n in range(8)) == 4
    current = [desk.tickets.get(admin, t.id) for t in tickets]
    assert counts["unassigned"] == sum(1 for t in current if t.status_id != "closed")


def test_a_ticket_stored_before_queues_is_indexed_once(table):
    from helpdesk.inputs import TicketCreate
    from helpdesk.store.ticket_records import ticket_item

    desk, admin = _desk(table)
    ticket = desk.tickets.create(admin, TicketCreate(title="a", user_email="c@x.io"))
    desk.repository.tickets.erase_ticket(ticket.id, desk.tickets._placement(ticket))
    older = ticket.model_copy(update={"queued": False})
    table.put({**ticket_item(older), "queued": False})  # as an upgrade finds it: no entries
    assert _queue(desk, admin) == [] and _counts(desk, "all") == {"all": 0}
    assert desk.tickets.index_all(admin) == 1
    assert desk.tickets.index(ticket.id) is False  # repeated: nothing counted twice
    assert desk.tickets.index_all(admin) == 0
    assert _queue(desk, admin) == [ticket.id] and _counts(desk, "all") == {"all": 1}


def test_a_queue_page_continues_by_cursor_in_every_sort(table):
    from helpdesk.inputs import TicketCreate, TicketUpdate
    from helpdesk.ticket_pages import Paging
    from helpdesk.tickets import TicketFilter

    desk, admin = _desk(table)
    ids = [desk.tickets.create(admin, TicketCreate(title=f"t{n}", user_email="c@x.io")).id
           for n in range(7)]
    desk.tickets.update(admin, ids[2], TicketUpdate(priority_id=4))
    for sort in ("updated", "created", "priority"):
        for newest_first in (True, False):
            seen: list[int] = []
            cursor = None
            while True:
                found = desk.tickets.page(admin, TicketFilter(), Paging(
                    per_page=3, cursor=cursor, sort=sort, newest_first=newest_first))
                seen += [t.id for t in found.tickets]
                cursor = found.next_cursor
                if cursor is None:
                    break
            assert sorted(seen) == sorted(ids) and len(seen) == 7, (sort, newest_first)
            if sort == "created":
                assert seen == (ids[::-1] if newest_first else ids)
            if sort == "priority":  # descending: most urgent first
                assert (seen[0] if newest_first else seen[-1]) == ids[2]


def test_a_department_change_of_a_ticket_in_every_queue_fits_one_transaction(table):
    """The bounds of queues.py keep the worst single move (every scoped entry to another
    department) under DynamoDB's 100 items; more at once is refused, nothing written."""
    from helpdesk.errors import InvalidInput
    from helpdesk.queues import memberships
    from helpdesk.store.queue_entries import Placement
    from helpdesk.store.ticket_records import QueueMove

    repository = Repository(table)
    ticket = _ticket(3, T0, department_id=1, owner_id=9, user_id=5, organization_id=4,
                     tags=[f"t{n}" for n in range(8)], followers=[1, 2, 3], mentioned=[4, 5, 6])
    names = memberships(ticket, closed=False)
    repository.tickets.commit_ticket(ticket, _event(ticket), None,
                                     queues=QueueMove(Placement(None, frozenset()), names))
    moved = ticket.model_copy(update={"department_id": 2, "version": 2,
                                      "date_updated": T0 + timedelta(minutes=1)})
    repository.tickets.commit_ticket(moved, _event(moved), 1, queues=QueueMove(
        Placement(ticket, names), memberships(moved, closed=False)))
    counts = repository.tickets.queues.counts(["all", "all@d1", "all@d2", "tag:t7@d2",
                                               "mention:6@d1"])
    assert counts == {"all": 1, "all@d1": 0, "all@d2": 1, "tag:t7@d2": 1, "mention:6@d1": 0}
    everything = moved.model_copy(update={
        "department_id": 1, "version": 3, "tags": [f"x{n}" for n in range(8)]})
    with pytest.raises(InvalidInput):
        repository.tickets.commit_ticket(everything, _event(everything), 2, queues=QueueMove(
            Placement(moved, memberships(moved, closed=False)),
            memberships(everything, closed=False)))
    assert repository.tickets.get_ticket(3).department_id == 2


def test_search_token_entries_exact_newest_first_prefix_and_idempotent_writes(table):
    from helpdesk.store.search_tokens import SearchTokens

    tokens = SearchTokens(table)
    tokens.add("ticket", 7, {"оплат", "счет"})
    tokens.add("ticket", 12, {"оплат", "оплатой"})
    tokens.add("ticket", 12, {"оплат"})  # a replay changes nothing
    tokens.add("ticket", 3, {"оплат", "ab"})
    tokens.add("user", 5, {"оплат"})  # another kind, another partition
    assert tokens.documents("ticket", "оплат", limit=10) == [12, 7, 3]
    assert tokens.documents("ticket", "оплат", limit=2) == [12, 7]
    assert tokens.documents("ticket", "оплат", limit=10, after=12) == [7, 3]
    assert tokens.documents("ticket", "опла", limit=10) == []  # exact: the whole token
    assert tokens.documents_with_prefix("ticket", "опл") == [12, 7, 3]
    assert tokens.documents_with_prefix("ticket", "оплато") == [12]
    assert tokens.documents_with_prefix("ticket", "ab") == [3]  # shorter: its own partition
    assert tokens.documents("user", "оплат", limit=10) == [5]
    assert table.get(*keys.token_entry("ticket", "ab", 3)) == {
        "PK": "TOKEN#ticket#ab", "SK": "ab#000000000003", "item_type": "search_token"}
    tokens.remove("ticket", 12, {"оплат", "оплатой"})
    tokens.remove("ticket", 12, {"оплат"})  # a replayed delete too
    assert tokens.documents("ticket", "оплат", limit=10) == [7, 3]
    assert tokens.documents_with_prefix("ticket", "оплато") == []


def test_search_reads_batch_tickets_with_their_texts_and_people(table):
    from helpdesk.store.search_tokens import SearchReads

    repository = Repository(table)
    first = _ticket(1, T0, user_id=9)
    repository.tickets.commit_ticket(first, _event(first), None,
                                     TicketChange(searchable=["оплата счёта"]))
    second = _ticket(2, T0 + timedelta(minutes=1), user_id=9)
    repository.tickets.commit_ticket(second, _event(second), None)
    reads = SearchReads(table)
    found = reads.tickets_with_texts([2, 404, 1])
    assert [(ticket.id, text) for ticket, text in found] == [(2, ""), (1, "оплата счёта")]
    assert reads.tickets_of_requester(9, limit=1) == [2]
    assert reads.tickets_of_requester(9, limit=5) == [2, 1]
    assert reads.users([404]) == [] and reads.organizations([404]) == []
