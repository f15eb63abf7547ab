"""Reference lists: /departments/, /statuses/, /priorities/, /types/, /groups/,
/user_statuses/. Reading is open to every caller; adding entries to administrators."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from api.deps import current
from api.requests import parse
from api.routing import data, endpoint, viewer
from api.views import entry_view
from helpdesk.dictionaries import KINDS
from helpdesk.inputs import DictionaryCreate, StatusCreate

dictionaries = Blueprint(__name__)

# Flags an admin may set on new entries (a custom status can pause SLA or count as closed).
EXTRA_FIELDS = {"paused", "closed", "role", "position"}


def input_of(kind: str) -> type[DictionaryCreate]:
    """Statuses are named by the admin ("in_progress"); other entries are numbered."""
    return StatusCreate if kind == "statuses" else DictionaryCreate


def _dictionary(kind: str) -> None:
    @endpoint(dictionaries, f"/{kind}", ("GET",), name=f"list_{kind}")
    def list_entries() -> Any:
        return data([entry_view(entry) for entry in current().dictionaries.list(kind)])

    @endpoint(dictionaries, f"/{kind}", ("POST",), name=f"add_{kind}")
    def add_entry() -> Any:
        fields = parse(input_of(kind), dictionaries.current_request)
        extra = fields.model_dump(mode="json", include=EXTRA_FIELDS, exclude_none=True)
        entry = current().dictionaries.add(viewer(), kind, fields.name, fields.id, extra)
        return data(entry_view(entry))


for _kind in KINDS:
    _dictionary(_kind)
