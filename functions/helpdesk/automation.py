"""Automation rules for one ticket event. The automation issue adds rule storage and the
conditions/actions; today there are no rules, so every event evaluates zero of them.

A pure function of the event (and, later, of the rules passed in): no AWS here, so it is
unit-testable and the rules Lambda stays a thin adapter."""

from __future__ import annotations

from typing import Any


def evaluate_rules(event: dict[str, Any]) -> dict[str, Any]:
    """`event` is the ticket_event workflow input: ticket_id, version, event_id, kind, pk, sk.
    Returns what the workflow records: how many rules were looked at, which fired, and the
    actions they ask for (applied by later workflow states)."""
    rules: list[Any] = []  # the seam: the rules that apply to events of this kind, in order
    return {
        "event_id": event.get("event_id"),
        "rules_evaluated": len(rules),
        "rules_fired": [],
        "actions": [],
    }
