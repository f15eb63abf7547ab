"""Wiring for Lambda containers (and the local stack): the helpdesk and its AWS adapters,
built once per process from the environment the template sets."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import Any

import boto3

from helpdesk.aws.clock import OffsetClock
from helpdesk.aws.ssm import SsmSecrets
from helpdesk.mail.ingest import Mailboxes
from helpdesk.models import utcnow
from helpdesk.service import Helpdesk, Settings
from helpdesk.store.dynamo import DynamoTable
from helpdesk.store.s3 import S3Blobs
from helpdesk.store.secrets import CachedSecrets


@cache
def client(service: str, endpoint: str | None = None) -> Any:
    """One client per service (keyed by endpoint: the local stack may restart on a new port)."""
    return boto3.client(service)


def _client(service: str) -> Any:
    return client(service, os.environ.get("AWS_ENDPOINT_URL"))


def clock_from_env() -> Callable[[], datetime]:
    """Real time; on the local stack the controllable clock it names (HELPDESK_CLOCK_FILE)."""
    path = os.environ.get("HELPDESK_CLOCK_FILE")
    return OffsetClock(path) if path else utcnow


def helpdesk_from_env() -> Helpdesk:
    return Helpdesk(DynamoTable(_client("dynamodb"), os.environ["TABLE_NAME"]),
                    Settings.from_env(), clock_from_env(),
                    secrets=CachedSecrets(SsmSecrets(_client("ssm"),
                                                     os.environ.get("SECRETS_PREFIX",
                                                                    "/helpdesk"))))


def blobs_from_env() -> S3Blobs:
    return S3Blobs(_client("s3"), os.environ["BUCKET_NAME"])


def ses() -> Any:
    return _client("ses")


def mailboxes_from_env() -> Mailboxes:
    return Mailboxes.parse(os.environ.get("SUPPORT_MAILBOXES", ""),
                           os.environ.get("MAILBOX_DEPARTMENTS", ""))
