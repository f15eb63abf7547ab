"""Rules CRUD and order (admins only). References (statuses, templates, channels,
subscriptions, agents) are checked when a rule is saved, so a typo is a 400 now rather than
a skipped action later."""

from __future__ import annotations

import builtins
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from helpdesk.access import Viewer
from helpdesk.dictionaries import Dictionaries
from helpdesk.errors import Conflict, NotFound, UnknownReference
from helpdesk.models import UserKind
from helpdesk.rules.engine import DICTIONARY_ACTIONS
from helpdesk.rules.model import Action, ActionType, Rule, RuleFields, RuleKind, RuleUpdate
from helpdesk.store.repository import Repository

if TYPE_CHECKING:
    from helpdesk.records import Records


class Rules:
    def __init__(self, repository: Repository, records: Records, dictionaries: Dictionaries,
                 clock: Callable[[], datetime]) -> None:
        self._repository = repository
        self._records = records
        self._dictionaries = dictionaries
        self._clock = clock

    def list(self, viewer: Viewer, kind: RuleKind | None = None) -> list[Rule]:
        viewer.require_admin("manage automation rules")
        return [r for r in self.in_order() if kind is None or r.kind is kind]

    def in_order(self, kind: RuleKind | None = None) -> builtins.list[Rule]:
        """Every rule (of a kind) in the order they run: by kind, then position."""
        order = list(RuleKind)
        rules = [r for r in self._records.rules.all() if kind is None or r.kind is kind]
        return sorted(rules, key=lambda r: (order.index(r.kind), r.position, r.id))

    def get(self, viewer: Viewer, rule_id: int) -> Rule:
        viewer.require_admin("manage automation rules")
        return self._require(rule_id)

    def create(self, viewer: Viewer, fields: RuleFields) -> Rule:
        viewer.require_admin("manage automation rules")
        self._check_references(fields.actions)
        now = self._clock()
        last = max((r.position for r in self.in_order(fields.kind)), default=0)
        rule = Rule(id=self._repository.ids.next_id("rule"), position=last + 1, date_created=now,
                    date_updated=now, version=1,
                    **fields.model_dump(by_alias=False, exclude_unset=False))
        self._records.rules.save(rule, None)
        return rule

    def update(self, viewer: Viewer, rule_id: int, fields: RuleUpdate) -> Rule:
        viewer.require_admin("manage automation rules")
        rule = self._require(rule_id)
        if fields.actions is not None:
            self._check_references(fields.actions)
        changes = {name: getattr(fields, name) for name in fields.model_fields_set}
        return self._save(rule, changes)

    def delete(self, viewer: Viewer, rule_id: int) -> None:
        viewer.require_admin("manage automation rules")
        self._require(rule_id)
        self._records.rules.erase(rule_id)

    def reorder(self, viewer: Viewer, kind: RuleKind,
                ids: builtins.list[int]) -> builtins.list[Rule]:
        """`ids` lists every rule of the kind once, in the new order."""
        viewer.require_admin("manage automation rules")
        rules = {r.id: r for r in self.in_order(kind)}
        if sorted(ids) != sorted(rules):
            raise Conflict(f"ids must list each {kind.value} rule exactly once: "
                           f"{sorted(rules)}", field="ids")
        return [self._save(rules[rule_id], {"position": position})
                if rules[rule_id].position != position else rules[rule_id]
                for position, rule_id in enumerate(ids, start=1)]

    def _save(self, rule: Rule, changes: dict[str, object]) -> Rule:
        previous = rule.version
        updated = rule.model_copy(update={**changes, "version": previous + 1,
                                          "date_updated": self._clock()})
        updated = Rule.model_validate(updated.model_dump())
        self._records.rules.save(updated, previous)
        return updated

    def _require(self, rule_id: int) -> Rule:
        rule = self._records.rules.get(rule_id)
        if rule is None:
            raise NotFound(f"rule {rule_id} does not exist")
        return rule

    def _check_references(self, actions: builtins.list[Action]) -> None:
        for index, action in enumerate(actions):
            where = f"actions.{index}.value"
            value = action.value
            if action.type in DICTIONARY_ACTIONS:
                self._dictionaries.require(DICTIONARY_ACTIONS[action.type][0], value, where)
            elif action.type is ActionType.SET_OWNER and isinstance(value, int):
                user = self._repository.people.get_user(value)
                if user is None or user.kind is not UserKind.STAFF or not user.active:
                    raise UnknownReference(f"{value} is not an active agent", field=where)
            elif action.type is ActionType.REPLY or (
                    action.type is ActionType.EMAIL and "template_id" in value):
                if self._records.templates.get(value["template_id"]) is None:
                    raise UnknownReference(f"template {value['template_id']} does not exist",
                                           field=where)
            elif action.type is ActionType.NOTIFY_TELEGRAM:
                channel = self._records.channels.get(value["channel_id"])
                if channel is None or channel.type != "telegram":
                    raise UnknownReference(f"channel {value['channel_id']} is not a "
                                           "Telegram channel", field=where)
            elif (action.type is ActionType.WEBHOOK and self._records.subscriptions.get(
                    value["subscription_id"]) is None):
                raise UnknownReference(f"webhook subscription {value['subscription_id']} "
                                       "does not exist", field=where)
