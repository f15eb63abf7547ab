"""Settings of the effects step: the table, the bucket, our mailboxes, the outbound webhook
workflow it starts and the hosts notifications may reach though not public (local testing)."""

from __future__ import annotations

from pydantic import Field

from helpdesk.aws.environment import MailSettings, SendingSettings


class Settings(MailSettings, SendingSettings):
    outbound_webhook_state_machine_arn: str = Field(alias="OUTBOUND_WEBHOOK_STATE_MACHINE_ARN",
                                                    min_length=1)
