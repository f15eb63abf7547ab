"""Dates on the wire: "DD.MM.YYYY HH:MM:SS" in the account's time zone (as HelpDeskEddy
shows them) on output; that form or ISO-8601 on input. Stored as UTC.

The account's zone is UTC until the wiring sets it (`use_account_zone`, from the function's
settings: HELPDESK_TIMEZONE); this module reads no environment."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

WIRE_FORMAT = "%d.%m.%Y %H:%M:%S"
INPUT_FORMATS = (WIRE_FORMAT, "%d.%m.%Y %H:%M", "%d.%m.%Y", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d")


@lru_cache(maxsize=8)
def _zone(name: str) -> tzinfo:
    return ZoneInfo(name)


_account_zone = ["UTC"]  # one per process, like the settings it comes from


def use_account_zone(name: str) -> None:
    """The zone naive input is read in and output is written in (an IANA name)."""
    _zone(name)  # an unknown name fails here, at start, not on the first request
    _account_zone[0] = name


def account_zone() -> tzinfo:
    return _zone(_account_zone[0])


def format_datetime(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    local = moment.astimezone(account_zone())
    # strftime writes year 546 as "546" on Linux: the wire (and its schema) has four digits.
    return f"{local.strftime('%d.%m.')}{local.year:04d}{local.strftime(' %H:%M:%S')}"


def parse_datetime(text: str) -> datetime:
    """Naive input is in the account's zone; ISO with an offset keeps its offset."""
    text = text.strip()
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        for pattern in INPUT_FORMATS:
            try:
                moment = datetime.strptime(text, pattern)
                break
            except ValueError:
                continue
        else:
            raise ValueError(
                f"{text!r} is not a date: use 'DD.MM.YYYY HH:MM:SS' or ISO-8601"
            ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=account_zone())
    return moment.astimezone(UTC)
