"""Settings of the table's stream consumer: the ticket_event workflow it starts."""

from __future__ import annotations

from pydantic import Field

from helpdesk.aws.environment import CommonSettings


class Settings(CommonSettings):
    ticket_event_state_machine_arn: str = Field(alias="TICKET_EVENT_STATE_MACHINE_ARN",
                                                min_length=1)
