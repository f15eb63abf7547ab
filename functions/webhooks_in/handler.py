"""Lambda: provider webhooks at /webhooks/{type}/{channel_id} (API Gateway proxy events).

Thin: find the channel, let its adapter verify and normalize the request, hand the events
to the channel ingest, answer what the provider expects. Nothing is stored before the
signature is verified; slow work (media download, rules) runs later in the workflow."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger

from helpdesk.aws.container import per_container
from helpdesk.aws.environment import settings_of
from helpdesk.aws.runtime import helpdesk_from
from helpdesk.channels.adapters import handle_webhook
from helpdesk.channels.events import WebhookRequest
from helpdesk.channels.ingest import ChannelIngest
from helpdesk.errors import DomainError, NotFound
from helpdesk.problems import of_domain_error
from helpdesk.service import Helpdesk
from webhooks_in.settings import Settings

logger = Logger()


@per_container
def helpdesk() -> Helpdesk:
    return helpdesk_from(settings_of(Settings))


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    desk = helpdesk()
    try:
        return _handle(desk, event)
    except DomainError as error:
        logger.warning("webhook refused", extra={"path": event.get("path"),
                                                 "error": error.code, "details": error.details})
        return of_domain_error(error).proxy_answer()


def _handle(helpdesk: Helpdesk, event: dict[str, Any]) -> dict[str, Any]:
    channel_type, channel_id = _route(event.get("path") or "")
    channel = helpdesk.channels.active(channel_type, channel_id)
    result = handle_webhook(channel_type, helpdesk.channels.secrets_of(channel.id),
                            _request(event), datetime.now(UTC))
    outcomes = ChannelIngest.of(helpdesk).receive(channel, result.events)
    for outcome in outcomes:
        logger.info("channel event", extra={"channel_id": channel.id, **outcome.__dict__})
    return {"statusCode": result.status, "headers": {"Content-Type": result.content_type},
            "body": result.body}


def _route(path: str) -> tuple[str, int]:
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 3 and parts[-3] == "webhooks" and parts[-1].isdigit():
        return parts[-2], int(parts[-1])
    raise NotFound(f"no channel is served at {path}; webhooks are /webhooks/<type>/<id>")


def _request(event: dict[str, Any]) -> WebhookRequest:
    body = event.get("body") or ""
    raw = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode()
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    query = dict(event.get("queryStringParameters") or {})
    return WebhookRequest(method=event.get("httpMethod", "POST").upper(), headers=headers,
                          query=query, body=raw)
