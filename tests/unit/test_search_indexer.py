"""The search indexer fed stream images: insert, modify, remove; a replay changes nothing."""

from __future__ import annotations

from helpdesk.search.indexer import Indexer
from helpdesk.store import keys
from helpdesk.store.memory import MemoryTable
from helpdesk.store.search_tokens import SearchTokens
from helpdesk.store.ticket_records import TicketRecords


def _entries(table: MemoryTable) -> set[tuple[str, str]]:
    found = set()
    for kind in ("ticket", "user", "org"):
        for token in ("оплат", "оплата", "принтер", "olga", "ivan", "petrov", "acm", "acme",
                      "hd", "1", "счет", "ольг", "ольга", "acme.io", "io"):
            found |= {(kind, f"{token}#{n:012d}") for n in
                      SearchTokens(table).documents(kind, token, limit=100)}
    return found


def _setup() -> tuple[MemoryTable, Indexer]:
    table = MemoryTable()
    return table, Indexer(SearchTokens(table), TicketRecords(table))


def _search_item(ticket_id: int, text: str) -> dict:
    pk, sk = keys.ticket_search(ticket_id)
    return {"PK": pk, "SK": sk, "item_type": "ticket_search", "text": text}


def _ticket_item(ticket_id: int, title: str) -> dict:
    pk, sk = keys.ticket(ticket_id)
    return {"PK": pk, "SK": sk, "item_type": "ticket", "id": ticket_id,
            "unique_id": f"HD-{ticket_id}", "title": title, "user_name": "Ольга",
            "user_email": "olga@x.io", "tags": []}


def test_search_text_appended_adds_its_tokens_and_a_replay_changes_nothing():
    table, indexer = _setup()
    tokens = SearchTokens(table)
    first = _search_item(1, "принтер")
    indexer.apply(None, first)
    grown = _search_item(1, "принтер оплата")
    indexer.apply(first, grown)
    after_once = _entries(table)
    indexer.apply(first, grown)  # the stream delivered it twice
    assert _entries(table) == after_once
    assert tokens.documents("ticket", "оплат", limit=10) == [1]
    assert tokens.documents("ticket", "принтер", limit=10) == [1]
    indexer.apply(grown, None)  # the ticket erased
    assert tokens.documents("ticket", "оплат", limit=10) == []


def test_a_ticket_renamed_loses_the_old_title_words_unless_its_conversation_has_them():
    table, indexer = _setup()
    tokens = SearchTokens(table)
    table.put(_search_item(1, "hd-1 принтер ольга olga@x.io"))  # what the ticket began with
    old = _ticket_item(1, "Принтер и оплата")
    indexer.apply(None, old)
    assert tokens.documents("ticket", "оплат", limit=10) == [1]
    assert tokens.documents("ticket", "olga@x.io", limit=10) == [1]
    new = {**old, "title": "Счёт"}
    indexer.apply(old, new)
    indexer.apply(old, new)  # replayed
    assert tokens.documents("ticket", "оплат", limit=10) == []
    assert tokens.documents("ticket", "принтер", limit=10) == [1]  # still in the conversation
    assert tokens.documents("ticket", "счет", limit=10) == [1]
    before = _entries(table)
    indexer.apply(new, {**new, "version": 3})  # a change of no searchable field writes nothing
    assert _entries(table) == before


def test_users_and_organizations_follow_their_names():
    table, indexer = _setup()
    tokens = SearchTokens(table)
    pk, sk = keys.user(4)
    user = {"PK": pk, "SK": sk, "item_type": "user", "id": 4, "name": "Ivan", "lastname": "",
            "email": "ivan@x.io", "contacts": [{"kind": "phone", "value": "+79123456789"}]}
    indexer.apply(None, user)
    assert tokens.documents("user", "79123456789", limit=10) == [4]
    renamed = {**user, "name": "Petrov"}
    indexer.apply(user, renamed)
    assert tokens.documents("user", "ivan", limit=10) == [4]  # still the e-mail's local part
    assert tokens.documents("user", "petrov", limit=10) == [4]
    indexer.apply({**renamed, "email": "p@x.io"}, None)
    assert tokens.documents("user", "petrov", limit=10) == []
    org_pk, org_sk = keys.organization(2)
    org = {"PK": org_pk, "SK": org_sk, "item_type": "organization", "id": 2, "name": "ACME",
           "domains": ["acme.io"]}
    indexer.apply(None, org)
    assert tokens.documents("org", "io", limit=10) == [2]  # a domain: its words
    assert tokens.documents_with_prefix("org", "acm") == [2]
    indexer.apply(None, {"PK": "X", "SK": "Y", "item_type": "contact"})  # not indexed


def test_a_ticket_change_that_moves_no_indexed_field_writes_nothing():
    class Counting(SearchTokens):
        writes = 0

        def add(self, kind, document_id, tokens):  # type: ignore[no-untyped-def]
            Counting.writes += 1
            super().add(kind, document_id, tokens)

        def remove(self, kind, document_id, tokens):  # type: ignore[no-untyped-def]
            Counting.writes += 1
            super().remove(kind, document_id, tokens)

    table = MemoryTable()
    indexer = Indexer(Counting(table), TicketRecords(table))
    old = _ticket_item(1, "Принтер")
    indexer.apply(None, old)
    assert Counting.writes == 1
    indexer.apply(old, old | {"status_id": "pending", "version": 2})  # a status, a post...
    assert Counting.writes == 1
    indexer.apply(old, old | {"title": "Оплата"})
    assert Counting.writes == 3  # the new word added, the old one removed
