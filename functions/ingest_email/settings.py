"""Settings of inbound mail: the table, the bucket where SES stores each mail (under
INBOUND_PREFIX) and our mailboxes."""

from __future__ import annotations

from pydantic import Field

from helpdesk.aws.environment import MailSettings


class Settings(MailSettings):
    inbound_prefix: str = Field("inbound/", alias="INBOUND_PREFIX")
