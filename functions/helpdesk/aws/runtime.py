"""Wiring for Lambda containers (and the local stack): the helpdesk and its AWS adapters,
built once per process from the environment the template sets."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import Any

import boto3

from helpdesk.aws.clock import OffsetClock
from helpdesk.aws.environment import environment
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
    return client(service, environment().aws_endpoint_url)


def clock_from_env() -> Callable[[], datetime]:
    """Real time; on the local stack the controllable clock it names (HELPDESK_CLOCK_FILE)."""
    path = environment().clock_file
    return OffsetClock(path) if path else utcnow


def settings_from_env() -> Settings:
    env = environment()
    return Settings(ticket_prefix=env.ticket_prefix,
                    rate_limit_per_minute=env.rate_limit_per_minute,
                    rate_limit_block_seconds=env.rate_limit_block_seconds,
                    ticket_link_base=env.ticket_link_base)


def helpdesk_from_env() -> Helpdesk:
    env = environment()
    return Helpdesk(DynamoTable(_client("dynamodb"), env.require("table_name")),
                    settings_from_env(), clock_from_env(),
                    secrets=CachedSecrets(SsmSecrets(_client("ssm"), env.secrets_prefix)))


def blobs_from_env() -> S3Blobs:
    return S3Blobs(_client("s3"), environment().require("bucket_name"))


def ses() -> Any:
    return _client("ses")


def stepfunctions() -> Any:
    return _client("stepfunctions")


def mailboxes_from_env() -> Mailboxes:
    env = environment()
    return Mailboxes.parse(env.support_mailboxes, env.mailbox_departments)
