"""Automation through `make run` over real HTTP: an admin writes a routing rule and a webhook
subscription; a ticket created through the API is routed, assigned and acknowledged by the
rules (the acknowledgement reaches the local outbox), and a webhook receiver on 127.0.0.1
gets the signed events, checked with its own HMAC code."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator

import pytest
import requests

from devstack.process import start_stack
from tests.support.live import session, wait_for
from tests.webhooks_out.conftest import Receiver

ADMIN = ("e2e-automation-admin@example.com", "e2e-automation-admin-key")
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack() -> Iterator[dict]:
    # The receiver is on 127.0.0.1, which outbound webhooks refuse unless allow-listed.
    started = start_stack(ADMIN, env={"WEBHOOK_ALLOW_HOSTS": "127.0.0.1"})
    yield {**started.ready, "base": started.base}
    started.stop()


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    hook = Receiver(secret="e2e-webhook-secret-e2e-webhook-secret")
    yield hook
    hook.close()


def test_a_new_ticket_is_routed_assigned_acknowledged_and_pushed(stack, receiver):
    api, base = stack["api_url"], stack["base"]
    admin = session(*ADMIN)
    agent = admin.post(f"{api}/users/", json={
        "name": "Billing agent", "email": "billing-agent@example.com", "group_id": 2,
        "department": [1]}, timeout=30)
    assert agent.status_code == 200, agent.text
    subscription = admin.post(f"{api}/webhook_subscriptions/", json={
        "url": "https://hooks.example.com/placeholder", "event_types": ["*"],
        "secret": receiver.secret}, timeout=30)
    assert subscription.status_code == 200, subscription.text
    hook_id = subscription.json()["data"]["id"]
    moved = admin.put(f"{api}/webhook_subscriptions/{hook_id}/", json={
        "url": f"http://127.0.0.1:{receiver.server.server_port}/hook"}, timeout=30)
    assert moved.status_code == 200, moved.text
    template = admin.post(f"{api}/templates/", json={
        "name": "Received", "texts": {"en": "We got {{ ticket.unique_id }}, {{ customer.name }}."}},
        timeout=30)
    assert template.status_code == 200, template.text
    rule = admin.post(f"{api}/rules/", json={
        "name": "Billing", "kind": "new",
        "any": [{"field": "text", "op": "contains", "value": ["invoice", "оплата"]}],
        "actions": [{"type": "set_priority", "value": 3},
                    {"type": "set_owner", "value": "round_robin"},
                    {"type": "add_tags", "value": ["billing"]},
                    {"type": "email", "value": {"to": "customer",
                                                "template_id": template.json()["data"]["id"]}}]},
        timeout=30)
    assert rule.status_code == 200, rule.text

    created = admin.post(f"{api}/tickets/", json={
        "title": "Invoice for October", "description": "Please send the invoice",
        "user_email": "payer@example.com", "user_name": "Payer"}, timeout=30)
    assert created.status_code == 200, created.text
    ticket_id = created.json()["data"]["id"]

    def routed() -> dict | None:
        ticket = admin.get(f"{api}/tickets/{ticket_id}/", timeout=30).json()["data"]
        return ticket if ticket["tags"] == ["billing"] else None

    ticket = wait_for(routed, 60)
    assert ticket, "the rule never applied"
    assert ticket["priority_id"] == 3
    assert ticket["owner_id"] == agent.json()["data"]["id"]  # the department's only agent
    audit = admin.get(f"{api}/tickets/{ticket_id}/audit/", timeout=30).text
    assert "rule 'Billing' fired" in audit

    def acknowledged() -> dict | None:
        outbox = requests.get(f"{base}/_local/outbox", timeout=10).json()["messages"]
        return next((m for m in outbox if "payer@example.com" in str(m.get("to"))), None)

    assert wait_for(acknowledged, 60), "the acknowledgement never reached the outbox"

    def pushed() -> list:
        kinds = {json.loads(r.body)["type"] for r in receiver.requests}
        return receiver.requests if {"created", "rules_applied"} <= kinds else []

    requests_seen = wait_for(pushed, 60)
    assert requests_seen, f"webhooks seen: {[r.body[:80] for r in receiver.requests]}"
    for received in requests_seen:
        timestamp = received.headers["x-helpdesk-timestamp"]
        expected = hmac.new(receiver.secret.encode(), f"{timestamp}.".encode() + received.body,
                            hashlib.sha256).hexdigest()
        assert received.signature_ok and expected in received.headers["x-helpdesk-signature"]
        assert received.headers["x-helpdesk-delivery"].startswith(f"{ticket_id}-")
