"""Settings of the delivery step: the table, the bucket (attachments) and our mailboxes."""

from __future__ import annotations

from helpdesk.aws.environment import MailSettings


class Settings(MailSettings):
    pass
