"""Outbound webhook subscriptions: an integration's URL, the events it wants, and its
signing secret (write-only, kept in the secret store like channel credentials)."""

from __future__ import annotations

import builtins
import secrets as random
from collections.abc import Callable
from datetime import datetime
from typing import Any

from helpdesk.access import Viewer
from helpdesk.channels.model import hint
from helpdesk.errors import NotFound, UnknownReference
from helpdesk.ssrf import AllowList, BlockedDestination, check_at_the_door
from helpdesk.store import keys
from helpdesk.store.collection import VersionedCollection
from helpdesk.store.repository import Repository
from helpdesk.store.secrets import SecretStore
from helpdesk.subscriptions.model import Subscription, SubscriptionCreate, SubscriptionUpdate


class Subscriptions:
    def __init__(self, repository: Repository, records: VersionedCollection[Subscription],
                 secrets: SecretStore, clock: Callable[[], datetime],
                 allow: AllowList | None = None) -> None:
        self._repository = repository
        self._records = records
        self._secrets = secrets
        self._clock = clock
        self._allow = allow  # None: the senders' default (no exceptions)

    def _check_url(self, url: str) -> None:
        """Refused when saved if plainly not public; sends check again after DNS."""
        try:
            check_at_the_door(url, allow=self._allow)
        except BlockedDestination as blocked:
            raise UnknownReference(f"url: {blocked}", field="url") from None

    def stored(self, subscription_id: int) -> Subscription | None:
        """The subscription as stored, for its deliveries (no viewer: the workflow asks)."""
        return self._records.get(subscription_id)

    def list(self, viewer: Viewer) -> list[Subscription]:
        viewer.require_admin("manage webhook subscriptions")
        return self._records.all()

    def get(self, viewer: Viewer, subscription_id: int) -> Subscription:
        viewer.require_admin("manage webhook subscriptions")
        return self._require(subscription_id)

    def create(self, viewer: Viewer, fields: SubscriptionCreate) -> tuple[Subscription, str]:
        """The subscription and its secret, shown this once."""
        viewer.require_admin("manage webhook subscriptions")
        self._check_url(fields.url)
        secret = fields.secret or random.token_urlsafe(32)
        now = self._clock()
        subscription = Subscription(
            id=self._repository.ids.next_id("subscription"), url=fields.url,
            event_types=fields.event_types, secret_hint=hint(secret),
            description=fields.description, date_created=now, date_updated=now, version=1)
        self._secrets.put(keys.subscription_secret_name(subscription.id), secret)
        self._records.save(subscription, None)
        return subscription, secret

    def update(self, viewer: Viewer, subscription_id: int,
               fields: SubscriptionUpdate) -> Subscription:
        viewer.require_admin("manage webhook subscriptions")
        subscription = self._require(subscription_id)
        if fields.url is not None:
            self._check_url(fields.url)
        previous = subscription.version
        changes = fields.model_dump(exclude_unset=True, exclude={"secret"})
        subscription = subscription.model_copy(update=changes)
        if fields.secret:
            self._secrets.put(keys.subscription_secret_name(subscription.id), fields.secret)
            subscription.secret_hint = hint(fields.secret)
        subscription.version, subscription.date_updated = previous + 1, self._clock()
        self._records.save(subscription, previous)
        return subscription

    def delete(self, viewer: Viewer, subscription_id: int) -> None:
        viewer.require_admin("manage webhook subscriptions")
        self._require(subscription_id)
        self._records.erase(subscription_id)

    def dead_letters(self, viewer: Viewer, subscription_id: int) -> builtins.list[dict[str, Any]]:
        """Deliveries that failed for good (last 30 days), newest first."""
        viewer.require_admin("manage webhook subscriptions")
        self._require(subscription_id)
        now = int(self._clock().timestamp())
        letters = [{name: item[name] for name in ("delivery_id", "at", "error", "event")}
                   for item in self._repository.webhooks.dead_letters(subscription_id)
                   if int(item.get("expires_at", now + 1)) > now]
        return sorted(letters, key=lambda letter: letter["at"], reverse=True)

    def secret_of(self, subscription_id: int) -> str | None:
        return self._secrets.get(keys.subscription_secret_name(subscription_id))

    def _require(self, subscription_id: int) -> Subscription:
        subscription = self._records.get(subscription_id)
        if subscription is None:
            raise NotFound(f"webhook subscription {subscription_id} does not exist")
        return subscription
