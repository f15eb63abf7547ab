"""The helpdesk as one object: what handlers call. Built from a Table and settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from helpdesk.channels.service import Channels
from helpdesk.dictionaries import Dictionaries
from helpdesk.macros import Templates
from helpdesk.models import User, utcnow
from helpdesk.organizations import Organizations
from helpdesk.ratelimit import FailedLogins, RateLimiter
from helpdesk.records import Records
from helpdesk.rules.service import Rules
from helpdesk.sla.service import Calendars, Policies, SlaSettings
from helpdesk.sla.tracker import SlaTracker
from helpdesk.ssrf import AllowList
from helpdesk.store.links import Links
from helpdesk.store.markers import Markers, TableMarkers
from helpdesk.store.repository import Repository
from helpdesk.store.secrets import MemorySecrets, SecretStore
from helpdesk.store.table import Table
from helpdesk.subscriptions.service import Subscriptions
from helpdesk.tickets import Tickets
from helpdesk.users import Users


@dataclass(frozen=True)
class Settings:
    ticket_prefix: str = "HD"
    rate_limit_per_minute: int = 300
    rate_limit_block_seconds: int = 1200
    ticket_link_base: str = ""  # where {{ ticket.link }} points: the workspace's ticket URL
    failed_logins_per_minute: int = 10  # wrong keys per source IP, and per e-mail
    failed_login_block_seconds: int = 300


@dataclass
class Helpdesk:
    table: Table
    settings: Settings = field(default_factory=Settings)
    clock: Callable[[], datetime] = utcnow
    secrets: SecretStore = field(default_factory=MemorySecrets)
    # Non-public hosts outbound requests may reach (webhooks, channel APIs and media, staff
    # notices): local testing only, receivers and fake providers on 127.0.0.1.
    webhook_allow: AllowList | None = None

    def __post_init__(self) -> None:
        self.repository = Repository(self.table)
        self.records = Records.on(self.table)
        self.markers: Markers = TableMarkers(self.table)
        self.links = Links(self.table)
        self.sla_settings = SlaSettings(self.records.sla_policies, self.records.calendars)
        self.dictionaries = Dictionaries(self.repository)
        self.users = Users(self.repository, self.dictionaries, self.clock)
        self.organizations = Organizations(self.repository, self.clock)
        self.sla = SlaTracker(self.sla_settings, self.dictionaries.is_paused,
                              self.dictionaries.is_closed)
        self.tickets = Tickets(
            self.repository, self.dictionaries, self.users, self.sla, self.clock,
            self.settings.ticket_prefix,
        )
        records = self.records
        self.calendars = Calendars(self.repository, records.calendars, records.sla_policies,
                                   self.sla_settings, self.clock)
        self.sla_policies = Policies(self.repository, records.sla_policies, records.calendars,
                                     records.channels, self.sla_settings, self.clock)
        self.channels = Channels(self.repository, records.channels, self.dictionaries,
                                 self.secrets, self.clock, self.webhook_allow)
        self.subscriptions = Subscriptions(self.repository, records.subscriptions,
                                           self.secrets, self.clock, self.webhook_allow)
        self.rules = Rules(self.repository, records, self.dictionaries, self.clock)
        self.templates = Templates(self, self.clock)
        self.rate_limiter = RateLimiter(
            self.repository.rates, self.clock,
            self.settings.rate_limit_per_minute, self.settings.rate_limit_block_seconds,
        )
        self.failed_logins = FailedLogins(RateLimiter(
            self.repository.rates, self.clock, self.settings.failed_logins_per_minute,
            self.settings.failed_login_block_seconds))

    def bootstrap(self, admin_email: str, admin_api_key: str) -> User:
        """Idempotent first-run setup: reference lists and the main administrator."""
        self.dictionaries.install_defaults()
        return self.users.install_admin(admin_email.lower(), admin_api_key)
