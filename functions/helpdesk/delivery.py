"""What a channel's sender may raise; the delivery workflow retries the first kind only."""

from __future__ import annotations


class TemporaryFailure(Exception):
    """The provider may accept it later (throttling, 5xx, network): retried with backoff."""


class PermanentFailure(Exception):
    """The provider refused for good (blocked bot, bad recipient): recorded, not retried."""
