"""The one model of what a Lambda reads from its environment (infra/template.yaml sets it;
the local stack sets the same names). Handlers and the AWS wiring read `environment()`;
nothing under the domain reads the environment."""

from __future__ import annotations

import os

from pydantic import BaseModel, ConfigDict, Field


class Environment(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    table_name: str = Field("", alias="TABLE_NAME")
    bucket_name: str = Field("", alias="BUCKET_NAME")
    inbound_prefix: str = Field("inbound/", alias="INBOUND_PREFIX")
    secrets_prefix: str = Field("/helpdesk", alias="SECRETS_PREFIX")
    aws_endpoint_url: str | None = Field(None, alias="AWS_ENDPOINT_URL")  # the local stack
    clock_file: str | None = Field(None, alias="HELPDESK_CLOCK_FILE")  # the local stack
    ticket_prefix: str = Field("HD", alias="TICKET_PREFIX")
    rate_limit_per_minute: int = Field(300, alias="RATE_LIMIT_PER_MINUTE", ge=1)
    rate_limit_block_seconds: int = Field(1200, alias="RATE_LIMIT_BLOCK_SECONDS", ge=0)
    ticket_link_base: str = Field("", alias="TICKET_LINK_BASE")
    timezone: str = Field("UTC", alias="HELPDESK_TIMEZONE")  # dates on the API's wire
    webhook_allow_hosts: str = Field("", alias="WEBHOOK_ALLOW_HOSTS")  # local testing only
    support_mailboxes: str = Field("", alias="SUPPORT_MAILBOXES")
    mailbox_departments: str = Field("", alias="MAILBOX_DEPARTMENTS")
    ticket_event_state_machine_arn: str = Field("", alias="TICKET_EVENT_STATE_MACHINE_ARN")
    outbound_webhook_state_machine_arn: str = Field(
        "", alias="OUTBOUND_WEBHOOK_STATE_MACHINE_ARN")
    sla_escalation_state_machine_arn: str = Field("", alias="SLA_ESCALATION_STATE_MACHINE_ARN")

    def require(self, name: str) -> str:
        """A variable this function cannot work without (named as the template names it)."""
        value = getattr(self, name)
        if not value:
            alias = type(self).model_fields[name].alias
            raise RuntimeError(f"{alias} is not set in this function's environment")
        return str(value)


def environment() -> Environment:
    # Read per call, not cached: the local stack and the tests change the environment of
    # one process between stacks.
    return Environment.model_validate(dict(os.environ))
