"""Rules in order over one ticket. Pure: storage comes in through `Resolver`.

Field actions change `facts.ticket` in place (a later rule sees them); a reply and notes
are written with the same commit; everything else (mail, Telegram, Slack, webhooks) becomes
an effect, a JSON dict with a deterministic `key`, sent after the commit by the workflow's
fan-out, where the key makes a repeat harmless."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from helpdesk.errors import InvalidInput
from helpdesk.models import Ticket
from helpdesk.rules.conditions import Facts, rule_matches
from helpdesk.rules.model import Action, ActionType, Rule
from helpdesk.templates import Template, TemplateValues, render

SPAM_TAG = "spam"
DICTIONARY_ACTIONS = {ActionType.SET_STATUS: ("statuses", "status_id"),
               ActionType.SET_PRIORITY: ("priorities", "priority_id"),
               ActionType.SET_DEPARTMENT: ("departments", "department_id"),
               ActionType.SET_TYPE: ("types", "type_id")}


class Resolver(Protocol):
    """What actions need from the rest of the helpdesk."""

    def known(self, dictionary: str, entry_id: int | str) -> bool: ...

    def is_active_agent(self, user_id: int) -> bool: ...

    def owner_for(self, strategy: str, ticket: Ticket) -> int | None: ...

    def template(self, template_id: int) -> Template | None: ...

    def values(self, ticket: Ticket) -> TemplateValues: ...

    def language(self, ticket: Ticket) -> str | None: ...

    def staff_emails(self, target: str, ticket: Ticket) -> list[str]: ...


@dataclass
class Fired:
    rule_id: int
    name: str
    did: list[str] = field(default_factory=list)  # what each action did, for the audit

    def audit_line(self) -> str:
        return f"rule {self.name!r} fired: " + ("; ".join(self.did) or "no change")


@dataclass
class Outcome:
    evaluated: int = 0
    fired: list[Fired] = field(default_factory=list)
    reply: str | None = None  # a public reply, rendered
    notes: list[str] = field(default_factory=list)  # private notes, rendered
    effects: list[dict[str, Any]] = field(default_factory=list)
    stopped_by: int | None = None


def run_rules(rules: list[Rule], facts: Facts, resolver: Resolver, cause: str) -> Outcome:
    """`rules` in their order (disabled ones are skipped). `cause` names what triggered the
    run (the event id, or the periodic slot) and prefixes every effect key."""
    outcome = Outcome()
    for rule in rules:
        if not rule.enabled:
            continue
        outcome.evaluated += 1
        if not rule_matches(rule, facts):
            continue
        fired = Fired(rule.id, rule.name)
        outcome.fired.append(fired)
        stop = False
        for index, action in enumerate(rule.actions):
            key = f"{cause}:r{rule.id}:a{index}"
            fired.did.append(_act(action, facts, resolver, outcome, key))
            stop = stop or action.type in (ActionType.STOP, ActionType.MARK_SPAM)
        if stop:
            outcome.stopped_by = rule.id
            break
    return outcome


def _act(action: Action, facts: Facts, resolver: Resolver, outcome: Outcome,
         key: str) -> str:
    ticket, kind, value = facts.ticket, action.type, action.value
    if kind in DICTIONARY_ACTIONS:
        dictionary, name = DICTIONARY_ACTIONS[kind]
        if not resolver.known(dictionary, value):
            return f"{name} {value} skipped: it no longer exists"
        setattr(ticket, name, value)
        return f"{name} = {value}"
    if kind is ActionType.SET_OWNER:
        return _set_owner(value, ticket, resolver)
    if kind is ActionType.ADD_TAGS:
        ticket.tags = list(dict.fromkeys([*ticket.tags, *value]))
        return "tags + " + ", ".join(value)
    if kind is ActionType.REMOVE_TAGS:
        gone = {tag.casefold() for tag in value}
        ticket.tags = [tag for tag in ticket.tags if tag.casefold() not in gone]
        return "tags - " + ", ".join(value)
    if kind is ActionType.SET_CUSTOM_FIELD:
        ticket.custom_fields = {**ticket.custom_fields, value["name"]: value["value"]}
        return f"custom field {value['name']} = {value['value']!r}"
    if kind is ActionType.MARK_SPAM:
        ticket.tags = list(dict.fromkeys([*ticket.tags, SPAM_TAG]))
        ticket.trashed = True
        return "marked as spam (moved to the trash), later rules skipped"
    if kind is ActionType.STOP:
        return "later rules skipped"
    if kind is ActionType.REPLY:
        return _reply(value["template_id"], facts, resolver, outcome)
    if kind is ActionType.NOTE:
        outcome.notes.append(_render_text(value["text"], facts, resolver))
        return "private note"
    if kind is ActionType.EMAIL:
        return _email(value, facts, resolver, outcome, key)
    if kind is ActionType.NOTIFY_TELEGRAM:
        outcome.effects.append({"type": "notify", "notification": {
            "key": key, "kind": "telegram", "channel_id": value["channel_id"],
            "to": [str(value["chat_id"])], "text": _render_text(value["text"], facts, resolver)}})
        return f"Telegram message to {value['chat_id']}"
    if kind is ActionType.NOTIFY_SLACK:
        outcome.effects.append({"type": "notify", "notification": {
            "key": key, "kind": "slack", "url": value["url"], "to": [],
            "text": _render_text(value["text"], facts, resolver)}})
        return "Slack message"
    # webhook
    outcome.effects.append({"type": "webhook", "subscription_id": value["subscription_id"],
                            "key": key})
    return f"webhook to subscription {value['subscription_id']}"


def _set_owner(value: Any, ticket: Ticket, resolver: Resolver) -> str:
    if value is None:
        ticket.owner_id = None
        return "owner removed"
    if isinstance(value, str):
        owner = resolver.owner_for(value, ticket)
        if owner is None:
            return (f"owner by {value.replace('_', '-')} skipped: no active agent in "
                    f"department {ticket.department_id}")
        ticket.owner_id = owner
        return f"owner = {owner} ({value.replace('_', '-')})"
    if not resolver.is_active_agent(value):
        return f"owner {value} skipped: not an active agent"
    ticket.owner_id = value
    return f"owner = {value}"


def _reply(template_id: int, facts: Facts, resolver: Resolver, outcome: Outcome) -> str:
    if outcome.reply is not None:
        return f"reply from template {template_id} skipped: one reply per run"
    if facts.automatic:
        return f"reply from template {template_id} skipped: the customer's mail was automatic"
    template = resolver.template(template_id)
    if template is None:
        return f"reply from template {template_id} skipped: it no longer exists"
    try:
        outcome.reply = render(template, resolver.language(facts.ticket),
                               resolver.values(facts.ticket))
    except InvalidInput as broken:
        return f"reply from template {template_id} skipped: {broken}"
    return f"public reply from template {template.name!r}"


def _email(value: dict[str, Any], facts: Facts, resolver: Resolver, outcome: Outcome,
           key: str) -> str:
    ticket, target = facts.ticket, value["to"]
    subject = value.get("subject") or f"[{ticket.unique_id}] {ticket.title}"
    if "template_id" in value:
        template = resolver.template(value["template_id"])
        if template is None:
            return f"email skipped: template {value['template_id']} no longer exists"
        try:
            text = render(template, resolver.language(ticket), resolver.values(ticket))
        except InvalidInput as broken:
            return f"email skipped: {broken}"
    else:
        text = _render_text(value["text"], facts, resolver)
        subject = _render_text(subject, facts, resolver)
    if target == "customer":
        if facts.automatic:
            return "email to the customer skipped: his mail was automatic"
        outcome.effects.append({"type": "customer_email", "key": key, "ticket_id": ticket.id,
                                "text": text})
        return "email to the customer"
    addresses = ([value["address"]] if target == "address"
                 else resolver.staff_emails(target, ticket))
    if not addresses:
        return f"email to the {target} skipped: no address"
    outcome.effects.append({"type": "notify", "notification": {
        "key": key, "kind": "email", "to": addresses, "subject": subject, "text": text}})
    return f"email to {', '.join(addresses)}"


def _render_text(text: str, facts: Facts, resolver: Resolver) -> str:
    template = Template(id=0, name="rule text", texts={"en": text})
    try:
        return render(template, None, resolver.values(facts.ticket))
    except InvalidInput:
        return text  # checked at save time; a retired placeholder shows as written
