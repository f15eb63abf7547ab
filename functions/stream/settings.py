"""Settings of the table's stream consumer: the table (rules, subscriptions, event items)
and the ticket_event workflow it starts."""

from __future__ import annotations

from pydantic import Field

from helpdesk.aws.environment import DeskSettings


class Settings(DeskSettings):
    ticket_event_state_machine_arn: str = Field(alias="TICKET_EVENT_STATE_MACHINE_ARN",
                                                min_length=1)
