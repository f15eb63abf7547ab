"""Outbound webhook subscriptions: admin-managed, secret shown once."""

from __future__ import annotations


def test_webhook_subscriptions_keep_their_secret_write_only(api):
    created = api.call("POST", "/webhook_subscriptions/", {
        "url": "https://hooks.example.com/helpdesk", "event_types": ["created", "post_added"]})
    assert created.status == 200 and len(created.body["data"]["secret"]) >= 32
    listed = api.call("GET", "/webhook_subscriptions/")
    assert created.body["data"]["secret"] not in str(listed.body)
    bad = api.call("POST", "/webhook_subscriptions/", {"url": "ftp://x", "event_types": ["x"]})
    assert bad.status == 400 and {e["source"]["field"] for e in bad.body["errors"]} == {
        "url", "event_types"}
    agent_view = api.call("GET", "/webhook_subscriptions/", auth=False)
    assert agent_view.status == 401
