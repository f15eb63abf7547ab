"""Automation rules for one ticket event: what the rules Lambda runs (the ticket_event
workflow's first task). The outcome names the rules looked at and fired, and the effects
(mail, notifications, webhooks) the workflow's fan-out sends."""

from __future__ import annotations

from typing import Any

from helpdesk.rules.runner import RuleRunner


def evaluate_rules(event: dict[str, Any], runner: RuleRunner) -> dict[str, Any]:
    """`event` is the ticket_event workflow input: ticket_id, version, event_id, kind, pk, sk."""
    result = runner.on_event(int(event["ticket_id"]), int(event["version"]))
    return result.as_dict()
