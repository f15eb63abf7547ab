"""A circuit breaker per webhook endpoint, as pure functions over a small dict the caller
stores (ints only, so it goes into DynamoDB and JSON as is).

Closed: deliveries go through and failures are counted. After `threshold` consecutive failed
attempts it opens for a cool-down (10 min, doubling with every re-opening, at most 6 h);
while open, deliveries fail fast without touching the endpoint, so the workflow backs off.
When the cool-down is over, deliveries are let through again (half-open): a success closes
it, a failure re-opens it for twice as long."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypedDict

THRESHOLD = 5
BASE_COOLDOWN_SECONDS = 10 * 60
MAX_COOLDOWN_SECONDS = 6 * 60 * 60


class BreakerState(TypedDict):
    failures: int  # consecutive failed attempts
    opened_until: int  # unix seconds; deliveries wait until then (0: closed)
    openings: int  # times opened since the last success; sets the next cool-down


def closed() -> BreakerState:
    return {"failures": 0, "opened_until": 0, "openings": 0}


def normalize(state: Mapping[str, Any] | None) -> BreakerState:
    """A state as stored (missing, partial, DynamoDB Decimals) as plain ints."""
    state = state or {}
    return {"failures": int(state.get("failures", 0)),
            "opened_until": int(state.get("opened_until", 0)),
            "openings": int(state.get("openings", 0))}


def allows(state: Mapping[str, Any] | None, now: datetime) -> bool:
    return _seconds(now) >= normalize(state)["opened_until"]


def is_open(state: Mapping[str, Any] | None, now: datetime) -> bool:
    return not allows(state, now)


def record(state: Mapping[str, Any] | None, ok: bool, now: datetime, *,
           threshold: int = THRESHOLD, base_cooldown: int = BASE_COOLDOWN_SECONDS,
           max_cooldown: int = MAX_COOLDOWN_SECONDS) -> BreakerState:
    """The state after one delivery attempt that reached (or tried to reach) the endpoint."""
    if ok:
        return closed()
    current = normalize(state)
    failures = current["failures"] + 1
    at = _seconds(now)
    # Attempts already in flight when it opened report late: they must not extend or double
    # the cool-down, or a burst of parallel failures would open it for hours at once.
    if failures < threshold or at < current["opened_until"]:
        return {**current, "failures": failures}
    openings = current["openings"] + 1
    cooldown = min(base_cooldown * 2 ** min(openings - 1, 30), max_cooldown)
    return {"failures": failures, "opened_until": at + cooldown, "openings": openings}


def _seconds(now: datetime) -> int:
    return int(now.timestamp())
