"""Builds the helpdesk once per Lambda container (or local process) from the environment."""

from __future__ import annotations

import os
from functools import lru_cache

from helpdesk.service import Helpdesk, Settings


@lru_cache(maxsize=1)
def helpdesk() -> Helpdesk:
    import boto3  # imported here so tests that inject a MemoryTable never load it

    from helpdesk.store.dynamo import DynamoTable

    client = boto3.client("dynamodb")
    return Helpdesk(DynamoTable(client, os.environ["TABLE_NAME"]), Settings.from_env())


def use(instance: Helpdesk) -> None:
    """Tests and the local stack inject their own helpdesk."""
    helpdesk.cache_clear()
    _override.clear()
    _override.append(instance)


_override: list[Helpdesk] = []


def current() -> Helpdesk:
    return _override[0] if _override else helpdesk()
