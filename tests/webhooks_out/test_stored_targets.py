"""The webhook Lambda's storage on the real repository (memory and moto DynamoDB), and the
dead letters an admin reads through the API."""

from __future__ import annotations

from helpdesk.subscriptions.model import SubscriptionCreate
from helpdesk.subscriptions.targets import StoredWebhookTargets
from helpdesk.webhooks_out import DeadLetter
from helpdesk.webhooks_out.breaker import record
from tests.conftest import ADMIN_EMAIL, ADMIN_KEY, make_helpdesk


def subscription_with_url(helpdesk, admin, url: str = "http://127.0.0.1:9/hook") -> tuple[int, str]:
    created, secret = helpdesk.subscriptions.create(
        admin, SubscriptionCreate(url="https://hooks.example.com/x", event_types=["created"]))
    # The API refuses non-public URLs at save time; the Lambda is what checks them at send time.
    helpdesk.records.subscriptions.save(created.model_copy(update={"url": url,
                                                                      "version": 2}), 1)
    return created.id, secret


def admin_of(helpdesk):
    return helpdesk.users.authenticate(ADMIN_EMAIL, ADMIN_KEY)


def test_target_breaker_and_dead_letters_round_trip(table, clock):
    helpdesk = make_helpdesk(table, clock)
    admin = admin_of(helpdesk)
    subscription_id, secret = subscription_with_url(helpdesk, admin)
    targets = StoredWebhookTargets(helpdesk.repository, helpdesk.subscriptions)

    target = targets.get(subscription_id)
    assert target is not None and (target.secret, target.url) == (secret, "http://127.0.0.1:9/hook")
    opened = target.breaker
    for _ in range(5):
        opened = record(opened, False, clock())
    targets.save_breaker(subscription_id, opened)
    assert targets.get(subscription_id).breaker == opened
    assert targets.get(999) is None

    event = {"type": "created", "ticket": {"id": 7, "title": "Счёт"}, "amount": 1.5}
    for _ in range(2):  # the workflow may record the same failure twice
        targets.dead_letter(DeadLetter(subscription_id, "7-1.3", event, "TemporaryFailure: 503",
                                       clock()))
    clock.advance(minutes=1)
    targets.dead_letter(DeadLetter(subscription_id, "8-1.3", event, "PermanentFailure: 410",
                                   clock()))
    letters = helpdesk.subscriptions.dead_letters(admin, subscription_id)
    assert [(d["delivery_id"], d["error"]) for d in letters] == [
        ("8-1.3", "PermanentFailure: 410"), ("7-1.3", "TemporaryFailure: 503")]
    assert letters[0]["event"] == event

    clock.advance(days=31)  # past the TTL: DynamoDB may not have dropped it yet, we do
    assert helpdesk.subscriptions.dead_letters(admin, subscription_id) == []
