"""Keeps the token index current from changed items (old image, new image), as the table's
stream delivers them: at least once, possibly replayed. Every write is an idempotent put or
delete, so a replay changes nothing.

- `ticket_search` (the conversation text, append-only): the tokens of the text appended
  (new text minus the old text it starts with) are added; an erased search item removes the
  tokens of its text.
- `ticket`: tokens of title, unique id, tags, requester e-mail and name. Tokens the new
  image lost are removed unless the ticket's conversation text still holds them.
- `user`: name, last name, alias, e-mail, phone, organization name, contacts.
- `organization`: name, domains, e-mail.
A token that lingers (a lost delete) is harmless: searches verify every candidate.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from helpdesk.search.documents import (
    ORG,
    TICKET,
    USER,
    organization_fields,
    organization_tokens,
    ticket_fields,
    ticket_tokens,
    user_fields,
    user_tokens,
)
from helpdesk.search.tokens import document_tokens

Image = Mapping[str, Any]
INDEXED_ITEM_TYPES = ("ticket", "ticket_search", "user", "organization")


class TokenEntries(Protocol):
    def add(self, kind: str, document_id: int, tokens: Iterable[str]) -> None: ...

    def remove(self, kind: str, document_id: int, tokens: Iterable[str]) -> None: ...


class SearchTexts(Protocol):
    def search_text(self, ticket_id: int) -> str | None: ...


def _changed(fields_of: Callable[[Image], Iterable[str]], old: Image | None,
             new: Image | None) -> bool:
    """Whether the indexed fields differ (an insert or a removal always does)."""
    if old is None or new is None:
        return True
    return list(fields_of(old)) != list(fields_of(new))


def _id_of(image: Image) -> int:
    if "id" in image:
        return int(image["id"])
    match = re.search(r"(\d+)$", str(image["PK"]))
    if match is None:
        raise ValueError(f"no id in {image['PK']}")
    return int(match.group(1))


class Indexer:
    def __init__(self, entries: TokenEntries, texts: SearchTexts) -> None:
        self._entries = entries
        self._texts = texts

    def apply(self, old: Image | None, new: Image | None) -> None:
        """One changed item. Items of other types are ignored."""
        image = new if new is not None else old
        if image is None:
            return
        item_type = image.get("item_type")
        if item_type == "ticket_search":
            self._search_text(old, new)
        elif item_type == "ticket":
            if not _changed(ticket_fields, old, new):
                return  # most ticket writes: a post, a status; nothing indexed moved
            self._replace(TICKET, old, new, ticket_tokens, keep=self._conversation_tokens)
        elif item_type == "user" and _changed(user_fields, old, new):
            self._replace(USER, old, new, user_tokens)
        elif item_type == "organization" and _changed(organization_fields, old, new):
            self._replace(ORG, old, new, organization_tokens)

    def _search_text(self, old: Image | None, new: Image | None) -> None:
        before = str((old or {}).get("text", ""))
        if new is None:
            assert old is not None
            self._entries.remove(TICKET, _id_of(old), document_tokens(before))
            return
        after = str(new.get("text", ""))
        appended = after[len(before):] if after.startswith(before) else after
        self._entries.add(TICKET, _id_of(new), document_tokens(appended))

    def _conversation_tokens(self, ticket_id: int) -> set[str]:
        return document_tokens(self._texts.search_text(ticket_id) or "")

    def _replace(self, kind: str, old: Image | None, new: Image | None,
                 tokens_of: Callable[[Image], set[str]],
                 keep: Callable[[int], set[str]] | None = None) -> None:
        before = tokens_of(old) if old is not None else set()
        after = tokens_of(new) if new is not None else set()
        image = new if new is not None else old
        assert image is not None
        document_id = _id_of(image)
        if after - before:
            self._entries.add(kind, document_id, after - before)
        lost = before - after
        if lost and keep is not None and new is not None:
            lost -= keep(document_id)
        if lost:
            self._entries.remove(kind, document_id, lost)
