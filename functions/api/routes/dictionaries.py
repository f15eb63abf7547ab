"""Reference lists: /departments/, /statuses/, /priorities/, /types/, /groups/,
/user_statuses/. Reading is open to every caller; adding entries to administrators."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from api.deps import current
from api.requests import body_of, parse
from api.routing import data, endpoint, viewer
from api.views import entry_view
from helpdesk.dictionaries import KINDS
from helpdesk.inputs import DictionaryCreate

dictionaries = Blueprint(__name__)

# Flags an admin may set on new entries (a custom status can pause SLA or count as closed).
EXTRA_FIELDS = {"paused", "closed", "role", "position"}


def _dictionary(kind: str) -> None:
    @endpoint(dictionaries, f"/{kind}", ("GET",), name=f"list_{kind}")
    def list_entries() -> Any:
        return data([entry_view(entry) for entry in current().dictionaries.list(kind)])

    @endpoint(dictionaries, f"/{kind}", ("POST",), name=f"add_{kind}")
    def add_entry() -> Any:
        fields = parse(DictionaryCreate, dictionaries.current_request)
        extra = {k: v for k, v in body_of(dictionaries.current_request).items()
                 if k in EXTRA_FIELDS}
        entry = current().dictionaries.add(viewer(), kind, fields.name, fields.id, extra)
        return data(entry_view(entry))


for _kind in KINDS:
    _dictionary(_kind)
