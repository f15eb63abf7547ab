"""Wiring for Lambda containers (and the local stack): the helpdesk and its AWS adapters,
built from a function's settings (helpdesk/aws/environment.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from helpdesk import dates
from helpdesk.aws.clients import aws_client as _client
from helpdesk.aws.clock import OffsetClock
from helpdesk.aws.environment import (
    CommonSettings,
    DeskSettings,
    FileSettings,
    MailSettings,
    SendingSettings,
)
from helpdesk.aws.ssm import SsmSecrets
from helpdesk.mail.ingest import Mailboxes
from helpdesk.models import utcnow
from helpdesk.service import Helpdesk, Settings
from helpdesk.ssrf import AllowList
from helpdesk.store.dynamo import DynamoTable
from helpdesk.store.s3 import S3Blobs
from helpdesk.store.secrets import CachedSecrets


def clock_from(settings: CommonSettings) -> Callable[[], datetime]:
    """Real time; on the local stack the controllable clock it names (HELPDESK_CLOCK_FILE)."""
    return OffsetClock(settings.clock_file) if settings.clock_file else utcnow


def desk_settings(settings: DeskSettings) -> Settings:
    return Settings(ticket_prefix=settings.ticket_prefix,
                    rate_limit_per_minute=settings.rate_limit_per_minute,
                    rate_limit_block_seconds=settings.rate_limit_block_seconds,
                    ticket_link_base=settings.ticket_link_base)


def helpdesk_from(settings: DeskSettings) -> Helpdesk:
    dates.use_account_zone(settings.timezone)
    allow = allow_list_from(settings) if isinstance(settings, SendingSettings) else None
    return Helpdesk(DynamoTable(_client("dynamodb"), settings.table_name),
                    desk_settings(settings), clock_from(settings),
                    secrets=CachedSecrets(SsmSecrets(_client("ssm"), settings.secrets_prefix)),
                    webhook_allow=allow)


def blobs_from(settings: FileSettings) -> S3Blobs:
    return S3Blobs(_client("s3"), settings.bucket_name)


def ses() -> Any:
    return _client("ses")


def stepfunctions() -> Any:
    return _client("stepfunctions")


def mailboxes_from(settings: MailSettings) -> Mailboxes:
    return Mailboxes.parse(settings.support_mailboxes, settings.mailbox_departments)


def allow_list_from(settings: SendingSettings) -> AllowList:
    """Hosts a webhook, a staff notification or a channel's provider client may reach though
    not public (local testing)."""
    return AllowList.parse(settings.webhook_allow_hosts)
