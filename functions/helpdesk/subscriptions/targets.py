"""The webhook delivery's storage on our repository and secret store: a subscription as a
delivery target, its breaker state, and dead letters (which the API shows)."""

from __future__ import annotations

from helpdesk.store.repository import Repository
from helpdesk.subscriptions.service import Subscriptions
from helpdesk.webhooks_out import breaker
from helpdesk.webhooks_out.breaker import BreakerState
from helpdesk.webhooks_out.deliver import WebhookTarget
from helpdesk.webhooks_out.targets import DeadLetter

DEAD_LETTER_DAYS = 30
MAX_ERROR = 2000


class StoredWebhookTargets:
    def __init__(self, repository: Repository, subscriptions: Subscriptions) -> None:
        self._repository = repository
        self._subscriptions = subscriptions

    def get(self, subscription_id: int) -> WebhookTarget | None:
        subscription = self._subscriptions.stored(subscription_id)
        if subscription is None:
            return None
        secret = self._subscriptions.secret_of(subscription_id)
        if secret is None:
            return None
        state = self._repository.webhooks.webhook_breaker(subscription_id)
        return WebhookTarget(url=subscription.url, secret=secret,
                             breaker=breaker.normalize(state), enabled=subscription.enabled)

    def save_breaker(self, subscription_id: int, state: BreakerState) -> None:
        self._repository.webhooks.save_webhook_breaker(subscription_id, dict(state))

    def dead_letter(self, letter: DeadLetter) -> None:
        self._repository.webhooks.save_dead_letter(letter.subscription_id, letter.delivery_id, {
            "subscription_id": letter.subscription_id, "delivery_id": letter.delivery_id,
            "event": letter.event, "error": letter.error[:MAX_ERROR],
            "at": letter.at.isoformat(),
            # Kept a month, then DynamoDB's TTL drops it (the API filters expired ones too).
            "expires_at": int(letter.at.timestamp()) + DEAD_LETTER_DAYS * 86400})
