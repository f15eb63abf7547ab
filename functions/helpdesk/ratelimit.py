"""Requests per minute per API key, shared by every Lambda instance through the table."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from helpdesk.errors import RateLimited
from helpdesk.store.rate_counters import RateCounters


@dataclass(frozen=True)
class Allowance:
    limit: int
    remaining: int


class RateLimiter:
    def __init__(
        self,
        rates: RateCounters,
        clock: Callable[[], datetime],
        per_minute: int = 300,
        block_seconds: int = 1200,
    ) -> None:
        self._rates = rates
        self._clock = clock
        self.per_minute = per_minute
        self.block_seconds = block_seconds

    def hit(self, principal: str) -> Allowance:
        """Count a request; raise RateLimited past the limit or while blocked.

        Usually one conditional update; a new minute costs a read and a conditional put."""
        now = self._clock().timestamp()
        window = int(now // 60)
        state = self._rates.count_request(principal, window)
        while state is None:
            previous = self._rates.rate_state(principal)
            fresh = {
                "window": window,
                "count": 1,
                "blocked_until": (previous or {}).get("blocked_until", 0),
                "expires_at": int(now) + self.block_seconds + 120,
            }
            if self._rates.replace_rate_state(principal, fresh, previous):
                state = fresh
            else:
                state = self._rates.count_request(principal, window)
        blocked_until = int(state.get("blocked_until", 0))
        if blocked_until > now:
            raise RateLimited(
                f"the limit of {self.per_minute} requests per minute was exceeded; "
                f"the key is blocked for {int(blocked_until - now)} more seconds",
                retry_after=int(blocked_until - now) + 1,
            )
        count = int(state["count"])
        if count > self.per_minute:
            blocked = {**state, "blocked_until": int(now) + self.block_seconds,
                       "expires_at": int(now) + self.block_seconds + 120}
            blocked.pop("PK", None)
            blocked.pop("SK", None)
            self._rates.replace_rate_state(principal, blocked, state)
            raise RateLimited(
                f"more than {self.per_minute} requests in a minute; the key is blocked for "
                f"{self.block_seconds} seconds",
                retry_after=self.block_seconds,
            )
        return Allowance(limit=self.per_minute, remaining=self.per_minute - count)


class FailedLogins:
    """Wrong credentials counted per source IP and per e-mail (issue "Hardening"): past the
    limit a wrong key is answered 429 with Retry-After instead of 401. Only failures count,
    and a valid key is checked before anything is counted, so nobody can lock a user out of
    his own key by failing in his name."""

    def __init__(self, limiter: RateLimiter) -> None:
        self._limiter = limiter

    @property
    def per_minute(self) -> int:
        return self._limiter.per_minute

    def failed(self, source_ip: str, email: str) -> None:
        """Count one failure; RateLimited past the limit of the IP or of the e-mail."""
        self._limiter.hit(f"login-ip:{source_ip}")
        if email:
            self._limiter.hit(f"login-email:{email.strip().lower()[:320]}")
