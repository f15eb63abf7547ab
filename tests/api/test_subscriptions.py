"""Outbound webhook subscriptions: admin-managed, secret shown once."""

from __future__ import annotations

from webhooks_out.handler import handle

from helpdesk.subscriptions.targets import StoredWebhookTargets
from tests.webhooks_out.test_stored_targets import admin_of, subscription_with_url


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


def test_dead_letters_through_the_api(api, helpdesk, clock):
    admin = admin_of(helpdesk)
    subscription_id, _ = subscription_with_url(helpdesk, admin, url="http://10.0.0.5/hook")
    targets = StoredWebhookTargets(helpdesk.repository, helpdesk.subscriptions)
    event = {"type": "created", "ticket_id": 12}
    # A private address is refused by the Lambda for good; the workflow records the letter.
    try:
        handle({"subscription_id": subscription_id, "delivery_id": "12-1.1", "event": event},
               targets, clock())
    except Exception as refused:
        error = {"Error": type(refused).__name__, "Cause": str(refused)}
    handle({"subscription_id": subscription_id, "delivery_id": "12-1.1", "event": event,
            "dead_letter": True, "error": error}, targets, clock())

    answer = api.call("GET", f"/webhook_subscriptions/{subscription_id}/dead_letters/")
    assert answer.status == 200 and answer.body["pagination"]["total"] == 1
    (letter,) = answer.body["data"]
    assert letter["delivery_id"] == "12-1.1" and letter["event"] == event
    assert letter["error"].startswith("PermanentFailure:") and "private" in letter["error"]
    assert api.call("GET", "/webhook_subscriptions/404/dead_letters/").status == 404
