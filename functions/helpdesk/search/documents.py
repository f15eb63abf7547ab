"""What text of each searchable document is indexed (pure): shared by the indexer, which
writes token entries, and the searches, which verify candidates against the same text."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from helpdesk.search.tokens import document_tokens

TICKET, USER, ORG = "ticket", "user", "org"


def _texts(values: Iterable[Any]) -> list[str]:
    return [str(value) for value in values if value not in (None, "")]


def ticket_fields(ticket: Mapping[str, Any]) -> list[str]:
    """A ticket item's (or model dump's) own searchable fields; its conversation is in its
    search item."""
    return _texts([ticket.get("title"), ticket.get("unique_id"), ticket.get("user_email"),
                   ticket.get("user_name"), ticket.get("user_lastname"),
                   *(ticket.get("tags") or [])])


def user_fields(user: Mapping[str, Any]) -> list[str]:
    contacts = user.get("contacts") or []
    return _texts([user.get("name"), user.get("lastname"), user.get("alias"), user.get("email"),
                   user.get("phone"), user.get("organization"),
                   *((contact or {}).get("value") for contact in contacts)])


def organization_fields(organization: Mapping[str, Any]) -> list[str]:
    return _texts([organization.get("name"), *(organization.get("domains") or []),
                   organization.get("email")])


def ticket_tokens(ticket: Mapping[str, Any], search_text: str = "") -> set[str]:
    return document_tokens(*ticket_fields(ticket), search_text)


def user_tokens(user: Mapping[str, Any]) -> set[str]:
    return document_tokens(*user_fields(user))


def organization_tokens(organization: Mapping[str, Any]) -> set[str]:
    return document_tokens(*organization_fields(organization))
