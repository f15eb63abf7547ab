"""Headers of an outbound webhook request. The signature is the one our inbound custom
channel checks (HMAC-SHA256 over `<timestamp>.<body>`), so an integrator verifies both
directions with the same code."""

from __future__ import annotations

import re

from helpdesk.channels.providers.custom import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign_custom
from helpdesk.delivery import PermanentFailure

DELIVERY_HEADER = "X-Helpdesk-Delivery"
EVENT_HEADER = "X-Helpdesk-Event"
USER_AGENT = "serverless-helpdesk-webhooks/1"
# Both go into headers verbatim: keep them to characters no HTTP stack mangles.
_TOKEN = re.compile(r"[A-Za-z0-9._:*-]{1,128}")


def signed_headers(secret: str, body: bytes, *, timestamp: int, delivery_id: str,
                   event_type: str) -> dict[str, str]:
    if not secret:
        raise PermanentFailure("the subscription has no signing secret")
    for name, value in (("delivery id", delivery_id), ("event type", event_type)):
        if not _TOKEN.fullmatch(value):
            raise PermanentFailure(f"{name} {value!r} must be 1-128 of A-Z a-z 0-9 . _ : * -")
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign_custom(secret, timestamp, body),
        DELIVERY_HEADER: delivery_id,
        EVENT_HEADER: event_type,
    }
