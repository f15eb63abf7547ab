"""Outbound webhook subscriptions (/api/v2/webhook_subscriptions/...): our extension, admins
only. The signing secret is shown once, in the answer to the create."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from api.deps import current
from api.requests import Query, paginate, parse, path_id
from api.routing import data, endpoint, viewer
from api.shapes import STR, FromModel, obj
from helpdesk.subscriptions.model import Subscription, SubscriptionCreate, SubscriptionUpdate

subscriptions = Blueprint(__name__)
BASE = "/webhook_subscriptions"
SUBSCRIPTION = FromModel(Subscription, optional={"secret": STR})  # secret: create only
DEAD_LETTER = obj({"delivery_id": STR, "at": STR, "error": STR, "event": obj({})})


@endpoint(subscriptions, BASE, ("GET",))
def list_subscriptions() -> Any:
    page, pagination = paginate(current().subscriptions.list(viewer()),
                                Query(subscriptions.current_request))
    return data([s.model_dump(mode="json") for s in page], pagination=pagination)


@endpoint(subscriptions, BASE, ("POST",))
def create_subscription() -> Any:
    fields = parse(SubscriptionCreate, subscriptions.current_request)
    subscription, secret = current().subscriptions.create(viewer(), fields)
    return data({**subscription.model_dump(mode="json"), "secret": secret})


@endpoint(subscriptions, BASE + "/{subscription_id}", ("GET",))
def get_subscription(subscription_id: str) -> Any:
    number = path_id(subscription_id, "subscription_id")
    return data(current().subscriptions.get(viewer(), number).model_dump(mode="json"))


@endpoint(subscriptions, BASE + "/{subscription_id}", ("PUT",))
def update_subscription(subscription_id: str) -> Any:
    fields = parse(SubscriptionUpdate, subscriptions.current_request)
    number = path_id(subscription_id, "subscription_id")
    return data(current().subscriptions.update(viewer(), number, fields).model_dump(
        mode="json"))


@endpoint(subscriptions, BASE + "/{subscription_id}", ("DELETE",))
def delete_subscription(subscription_id: str) -> Any:
    number = path_id(subscription_id, "subscription_id")
    current().subscriptions.delete(viewer(), number)
    return data({"id": number, "deleted": True})


@endpoint(subscriptions, BASE + "/{subscription_id}/dead_letters", ("GET",))
def list_dead_letters(subscription_id: str) -> Any:
    number = path_id(subscription_id, "subscription_id")
    page, pagination = paginate(current().subscriptions.dead_letters(viewer(), number),
                                Query(subscriptions.current_request))
    return data(page, pagination=pagination)
