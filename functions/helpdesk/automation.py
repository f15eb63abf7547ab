"""Automation rules for one ticket event. The automation issue fills in rule storage and
evaluation; today there are no rules, so every event evaluates zero of them."""

from __future__ import annotations

from typing import Any


def evaluate_rules(event: dict[str, Any]) -> dict[str, Any]:
    rules: list[Any] = []  # the seam: rules of the event's kind, in order
    return {
        "event_id": event.get("event_id"),
        "rules_evaluated": len(rules),
        "rules_fired": [],
        "actions": [],
    }
