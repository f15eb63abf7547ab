"""Compact storage of the embedded DynamoDB's items (installed by devstack/moto_patches.py).

moto keeps every attribute of every item as a `DynamoType` object, nested maps and lists as
trees of them: a ticket of ~1.6 KB DynamoDB size takes ~20 KB of Python objects, and the
table was most of the memory the local stack kept per message (docs/performance.md). At
rest, an item here keeps its attributes as one pickled string of DynamoDB JSON instead; the
first access to `Item.attrs` during a request rebuilds moto's objects, and when the request
ends (still under the DynamoDB lock, see `pack_touched`) everything touched is packed again.
moto's code sees `Item.attrs` exactly as before: a `LimitedSizeDict` of `DynamoType`.

moto also validates the 400 KB item limit by summing the whole item again on every attribute
it sets (`LimitedSizeDict.__setitem__`): building an item of n attributes costs O(n^2).
Items are built here with one size check instead (same limit, same error).
"""

from __future__ import annotations

import pickle
from typing import Any

# Items whose attributes were rebuilt or replaced during the current DynamoDB request.
# Appended to and drained under moto_patches' DynamoDB lock; outside of a request (an item
# read directly from moto's backend) the next request packs it again.
_touched: list[Any] = []
_active = False
_ITEM_LIMIT = 405_000  # moto's own figure for DynamoDB's 400 KB


def install() -> None:
    """Make `Item.attrs` a packed-at-rest property. Stays in place after `deactivate`: items
    packed earlier need it to be read."""
    global _active
    from moto.dynamodb.models.dynamo_type import Item

    if not isinstance(Item.__dict__.get("attrs"), property):
        Item.attrs = property(_attrs, _set_attrs)  # type: ignore[assignment]
        Item.__init__ = _init  # type: ignore[assignment]
    _active = True


def deactivate() -> None:
    """Stop packing: items are rebuilt on their next access and stay rebuilt."""
    global _active
    _active = False
    pack_touched()


def pack_touched() -> None:
    while _touched:
        state = _touched.pop().__dict__
        attrs = state.get("_attrs")
        if attrs is not None and _active:
            state["_packed"] = pickle.dumps({key: _plain(value) for key, value in attrs.items()},
                                            protocol=pickle.HIGHEST_PROTOCOL)
            del state["_attrs"]


def _init(item: Any, hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> None:
    item.hash_key = hash_key
    item.range_key = range_key
    item.attrs = _rebuilt(attrs)


def _rebuilt(plain: dict[str, Any]) -> Any:
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType, LimitedSizeDict
    from moto.dynamodb.models.utilities import bytesize

    attrs = LimitedSizeDict({key: DynamoType(value) for key, value in plain.items()})
    if sum(bytesize(key) + value.size() for key, value in attrs.items()) > _ITEM_LIMIT:
        raise ItemSizeTooLarge
    return attrs


def _attrs(item: Any) -> Any:
    state = item.__dict__
    attrs = state.get("_attrs")
    if attrs is None:
        packed = state.get("_packed")
        if packed is None:
            raise AttributeError("attrs")
        attrs = _rebuilt(pickle.loads(packed))
        _remember(item, attrs)
    return attrs


def _set_attrs(item: Any, attrs: Any) -> None:
    _remember(item, attrs)


def _remember(item: Any, attrs: Any) -> None:
    state = item.__dict__
    state["_attrs"] = attrs
    state.pop("_packed", None)
    if _active:
        _touched.append(item)


def _plain(value: Any) -> dict[str, Any]:
    """A DynamoType as the DynamoDB JSON moto was given (what `DynamoType(...)` accepts)."""
    kind, inner = value.type, value.value
    if kind == "M":
        return {"M": {key: _plain(nested) for key, nested in inner.items()}}
    if kind == "L":
        return {"L": [_plain(nested) for nested in inner]}
    if kind == "B" and isinstance(inner, bytes):  # kept as bytes, as moto had it
        return {"B": inner}
    return {kind: inner}
