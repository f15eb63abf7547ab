"""Wiring for Lambda containers (and the local stack): the helpdesk and its AWS adapters,
built once per process from the environment the template sets."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from helpdesk import dates
from helpdesk.aws.clients import aws_client as _client
from helpdesk.aws.clock import OffsetClock
from helpdesk.aws.environment import environment
from helpdesk.aws.ssm import SsmSecrets
from helpdesk.mail.ingest import Mailboxes
from helpdesk.models import utcnow
from helpdesk.service import Helpdesk, Settings
from helpdesk.store.dynamo import DynamoTable
from helpdesk.store.s3 import S3Blobs
from helpdesk.store.secrets import CachedSecrets

if TYPE_CHECKING:
    from helpdesk.webhooks_out.ssrf import AllowList


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
    dates.use_account_zone(env.timezone)
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


def allow_list_from_env() -> AllowList:
    """Hosts a webhook or staff notification may reach though not public (local testing)."""
    from helpdesk.webhooks_out.ssrf import AllowList  # not every function sends webhooks

    return AllowList.parse(environment().webhook_allow_hosts)
