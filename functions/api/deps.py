"""Builds the helpdesk once per Lambda container (or local process) from the environment."""

from __future__ import annotations

from functools import lru_cache

from helpdesk.service import Helpdesk
from helpdesk.store.blobs import BlobStore


@lru_cache(maxsize=1)
def helpdesk() -> Helpdesk:
    # Imported here so tests that inject a MemoryTable never load boto3.
    from helpdesk.aws.runtime import helpdesk_from_env

    return helpdesk_from_env()


def use(instance: Helpdesk) -> None:
    """Tests and the local stack inject their own helpdesk."""
    helpdesk.cache_clear()
    _override.clear()
    _override.append(instance)


_override: list[Helpdesk] = []


def current() -> Helpdesk:
    return _override[0] if _override else helpdesk()


_blobs: list[BlobStore] = []


def blobs() -> BlobStore:
    """Where attachments are; tests inject their own with `use_blobs`."""
    if not _blobs:
        from helpdesk.aws.runtime import blobs_from_env

        _blobs.append(blobs_from_env())
    return _blobs[0]


def use_blobs(instance: BlobStore) -> None:
    _blobs[:] = [instance]
