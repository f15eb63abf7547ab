"""What the API builds once per Lambda container (or local process) from the environment;
tests substitute with `deps.helpdesk.use(...)`, `deps.blobs.use(...)` (helpdesk.aws.container)."""

from __future__ import annotations

from helpdesk.aws.container import per_container
from helpdesk.service import Helpdesk
from helpdesk.store.blobs import BlobStore


@per_container
def helpdesk() -> Helpdesk:
    # Imported here so tests that inject a MemoryTable never load boto3.
    from api.settings import Settings
    from helpdesk.aws.environment import settings_of
    from helpdesk.aws.runtime import helpdesk_from

    return helpdesk_from(settings_of(Settings))


@per_container
def blobs() -> BlobStore:
    """Where attachments are."""
    from api.settings import Settings
    from helpdesk.aws.environment import settings_of
    from helpdesk.aws.runtime import blobs_from

    return blobs_from(settings_of(Settings))


current = helpdesk  # the name the routes read
