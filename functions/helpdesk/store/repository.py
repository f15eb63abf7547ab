"""The stores of the kinds of record on the one table, built together (service.py hands
them out). Each is a small class in its own module; keys come from keys.py."""

from __future__ import annotations

from helpdesk.store.dictionary_entries import DictionaryEntries
from helpdesk.store.ids import Ids
from helpdesk.store.people import People
from helpdesk.store.periodic_marks import PeriodicMarks
from helpdesk.store.rate_counters import RateCounters
from helpdesk.store.search_tokens import SearchReads, SearchTokens
from helpdesk.store.table import Table
from helpdesk.store.ticket_records import TicketRecords
from helpdesk.store.webhook_state import WebhookState


class Repository:
    def __init__(self, table: Table) -> None:
        self.table = table
        self.ids = Ids(table)
        self.tickets = TicketRecords(table)
        self.people = People(table)
        self.dictionary = DictionaryEntries(table)
        self.periodic = PeriodicMarks(table)
        self.webhooks = WebhookState(table)
        self.rates = RateCounters(table)
        self.search_tokens = SearchTokens(table)
        self.search_reads = SearchReads(table)
