"""Outbound webhook subscriptions: admin-managed, secret shown once."""

from __future__ import annotations

import pytest
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


@pytest.mark.parametrize("url", [
    "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/hook", "http://[::1]/hook",
    "http://0x7f000001/hook", "http://2130706433/hook", "http://127.1/hook",
    "http://metadata.google.internal/computeMetadata/v1/", "http://printer.local/",
    "http://intranet/", "http://[::ffff:169.254.169.254]/"])
def test_a_subscription_to_an_address_that_is_not_public_is_refused_when_saved(api, url):
    """These were answered 200 and refused only at send time."""
    refused = api.call("POST", "/webhook_subscriptions/", {"url": url})
    assert refused.status == 422, refused.body
    assert refused.body["errors"][0]["source"]["field"] == "url"
    assert api.call("GET", "/webhook_subscriptions/").body["data"] == []
    created = api.call("POST", "/webhook_subscriptions/", {"url": "https://hooks.example.com/x"})
    moved = api.call("PUT", f"/webhook_subscriptions/{created.body['data']['id']}", {"url": url})
    assert moved.status == 422


def test_an_admin_edits_rotates_and_deletes_a_subscription(api):
    created = api.call("POST", "/webhook_subscriptions/", {
        "url": "https://hooks.example.com/a", "event_types": ["created"]}).body["data"]
    path = f"/webhook_subscriptions/{created['id']}"
    renamed = api.call("PUT", path, {"description": "CRM sync"})
    assert renamed.status == 200
    assert renamed.body["data"]["url"] == "https://hooks.example.com/a"  # untouched
    assert renamed.body["data"]["description"] == "CRM sync"
    rotated = api.call("PUT", path, {"secret": "a-new-secret-of-the-crm-0123456789"})
    assert rotated.status == 200 and "a-new-secret" not in str(rotated.body)
    assert rotated.body["data"]["secret_hint"] != created["secret_hint"]
    assert api.call("DELETE", path).status == 200
    assert api.call("GET", path).status == 404
    assert api.call("PUT", path, {"description": "gone"}).status == 404
