"""What a Lambda reads from its environment, as one pydantic settings model per function
(`functions/<name>/settings.py:Settings`, the Lambda handler cookbook's pattern) built from
the shared pieces below. infra/template.yaml sets the variables (tests/infra checks that each
function's template environment satisfies its model); the local stack sets the same names.
A variable a function cannot work without has no default: reading the settings names it.
Handlers and the AWS wiring read `settings_of(Settings)`; nothing under the domain reads the
environment."""

from __future__ import annotations

import os
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field


class CommonSettings(BaseModel):
    """What every function reads."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    aws_endpoint_url: str | None = Field(None, alias="AWS_ENDPOINT_URL")  # the local stack
    clock_file: str | None = Field(None, alias="HELPDESK_CLOCK_FILE")  # the local stack
    timezone: str = Field("UTC", alias="HELPDESK_TIMEZONE")  # dates on the API's wire


class DeskSettings(CommonSettings):
    """A function that works on the helpdesk's table."""

    table_name: str = Field(alias="TABLE_NAME", min_length=1)
    secrets_prefix: str = Field("/helpdesk", alias="SECRETS_PREFIX")
    ticket_prefix: str = Field("HD", alias="TICKET_PREFIX")
    rate_limit_per_minute: int = Field(300, alias="RATE_LIMIT_PER_MINUTE", ge=1)
    rate_limit_block_seconds: int = Field(1200, alias="RATE_LIMIT_BLOCK_SECONDS", ge=0)
    ticket_link_base: str = Field("", alias="TICKET_LINK_BASE")


class FileSettings(DeskSettings):
    """... and reads or writes files (raw mail, attachments) in the bucket."""

    bucket_name: str = Field(alias="BUCKET_NAME", min_length=1)


class MailSettings(FileSettings):
    """... and sends or receives mail."""

    support_mailboxes: str = Field("", alias="SUPPORT_MAILBOXES")
    mailbox_departments: str = Field("", alias="MAILBOX_DEPARTMENTS")


class SendingSettings(CommonSettings):
    """A function that calls customers' webhooks, staff notification hooks or messenger
    providers (a channel's API base URL, media URLs in customers' messages)."""

    webhook_allow_hosts: str = Field("", alias="WEBHOOK_ALLOW_HOSTS")  # local testing only


S = TypeVar("S", bound=BaseModel)


def settings_of(model: type[S]) -> S:
    """The function's settings, read from its environment now. Not cached: the local stack
    and the tests change one process's environment between stacks; a handler reads its
    settings where it builds what it keeps (`@per_container`)."""
    return model.model_validate(dict(os.environ))
