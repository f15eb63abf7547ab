"""JSON Schema builders for the response shapes in `api/views.py`: each view's schema is
written next to the view, with these few words, and `api/openapi.py` publishes them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

Schema = dict[str, Any]

INT: Schema = {"type": "integer"}
NUMBER: Schema = {"type": "number"}
STR: Schema = {"type": "string"}
BOOL: Schema = {"type": "boolean"}
ANY: Schema = {}
# Dates on the wire: "DD.MM.YYYY HH:MM:SS" in the account's zone (helpdesk.dates).
WHEN: Schema = {"type": "string", "pattern": r"^\d{2}\.\d{2}\.\d{4} \d{2}:\d{2}:\d{2}$"}
ISO_WHEN: Schema = {"type": "string", "format": "date-time"}


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def array(items: Schema) -> Schema:
    return {"type": "array", "items": items}


def mapping(values: Schema = ANY) -> Schema:
    return {"type": "object", "additionalProperties": values}


def obj(required: dict[str, Schema], optional: dict[str, Schema] | None = None) -> Schema:
    """An object with these properties; extra ones are allowed (answers may grow)."""
    return {"type": "object", "required": sorted(required),
            "properties": {**required, **(optional or {})}}


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


# What a DELETE answers: {"id", "deleted"} (tickets moved to the trash add "trashed").
DELETED = obj({"id": INT, "deleted": BOOL}, {"trashed": BOOL})


@dataclass(frozen=True)
class FromModel:
    """A view that is a model's JSON dump: its serialization schema, with the properties the
    view sets itself (`set`, always there) or adds sometimes (`optional`)."""

    model: type[BaseModel]
    set: dict[str, Schema] = field(default_factory=dict)
    optional: dict[str, Schema] = field(default_factory=dict)
