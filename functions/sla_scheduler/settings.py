"""Settings of the minute scheduler: the table and the SLA escalation workflow it starts."""

from __future__ import annotations

from pydantic import Field

from helpdesk.aws.environment import DeskSettings


class Settings(DeskSettings):
    sla_escalation_state_machine_arn: str = Field(alias="SLA_ESCALATION_STATE_MACHINE_ARN",
                                                  min_length=1)
