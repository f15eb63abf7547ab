"""AWS clients, one per service and endpoint per process (the local stack and the tests may
start the embedded AWS again, on another port, in one process). boto3 is imported on the
first client, and the environment model (pydantic) on the first look-up, not at import: a
function that needs no client does not pay for them (the stream function, mostly)."""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def client(service: str, endpoint: str | None = None) -> Any:
    """The client of a service; `endpoint` only keys the cache (boto3 reads
    AWS_ENDPOINT_URL itself)."""
    import boto3

    return boto3.client(service)


def aws_client(service: str) -> Any:
    """The client of a service for this function's environment."""
    from helpdesk.aws.environment import CommonSettings, settings_of

    return client(service, settings_of(CommonSettings).aws_endpoint_url)
