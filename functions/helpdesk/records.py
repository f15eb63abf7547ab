"""The records an administrator manages through the API, each a versioned collection on the
table (store/collection.py): channels, webhook subscriptions, automation rules, templates,
SLA calendars and SLA policies. Their kinds are named here, above the store, so that the
store imports no feature package; keys come from store/keys.py."""

from __future__ import annotations

from dataclasses import dataclass

from helpdesk.channels.model import Channel
from helpdesk.rules.model import Rule
from helpdesk.sla.model import Calendar, Policy
from helpdesk.store import keys
from helpdesk.store.collection import RecordKind, VersionedCollection
from helpdesk.store.table import Table
from helpdesk.subscriptions.model import Subscription
from helpdesk.templates import Template

CHANNELS = RecordKind("channel", "channel", Channel.model_validate, keys.channel,
                      keys.all_channels, keys.channel_index_keys)
SUBSCRIPTIONS = RecordKind("subscription", "subscription", Subscription.model_validate,
                           keys.subscription, keys.all_subscriptions,
                           keys.subscription_index_keys)
RULES = RecordKind("rule", "rule", Rule.model_validate, keys.rule, keys.all_rules,
                   by_alias=True)
TEMPLATES = RecordKind("template", "template", Template.model_validate, keys.template,
                       keys.all_templates)
CALENDARS = RecordKind("calendar", "calendar", Calendar.model_validate, keys.calendar,
                       keys.all_calendars)
SLA_POLICIES = RecordKind("sla_policy", "SLA policy", Policy.model_validate, keys.sla_policy,
                          keys.all_sla_policies)


@dataclass(frozen=True)
class Records:
    channels: VersionedCollection[Channel]
    subscriptions: VersionedCollection[Subscription]
    rules: VersionedCollection[Rule]
    templates: VersionedCollection[Template]
    calendars: VersionedCollection[Calendar]
    sla_policies: VersionedCollection[Policy]

    @classmethod
    def on(cls, table: Table) -> Records:
        return cls(channels=VersionedCollection(table, CHANNELS),
                   subscriptions=VersionedCollection(table, SUBSCRIPTIONS),
                   rules=VersionedCollection(table, RULES),
                   templates=VersionedCollection(table, TEMPLATES),
                   calendars=VersionedCollection(table, CALENDARS),
                   sla_policies=VersionedCollection(table, SLA_POLICIES))
