"""Where a new post goes (`helpdesk.post_delivery.route_post`): decided from the ticket, the
post and the workflow's give-up flag alone."""

from __future__ import annotations

import json

import pytest

from helpdesk.models import ActorType, Message, Ticket
from helpdesk.post_delivery import Route, give_up_reason, route_post


def ticket(channel_id: int | None = None) -> Ticket:
    return Ticket(id=5, unique_id="HD-5", title="Printer", channel_id=channel_id)


def post(author: ActorType) -> Message:
    return Message(id=2, ticket_id=5, user_id=1, author_type=author, text="Hello")


@pytest.mark.parametrize(("channel_id", "give_up", "route"), [
    (None, False, Route.MAIL), (7, False, Route.CHANNEL),
    (None, True, Route.GIVE_UP), (7, True, Route.GIVE_UP)])
def test_a_staff_post_goes_to_the_tickets_channel_unless_given_up(
        channel_id: int | None, give_up: bool, route: Route):
    assert route_post(ticket(channel_id), post(ActorType.STAFF), give_up=give_up) is route


@pytest.mark.parametrize("author", [a for a in ActorType if a is not ActorType.STAFF])
def test_a_customers_post_is_never_delivered(author: ActorType):
    assert route_post(ticket(7), post(author), give_up=True) is Route.CUSTOMER


def test_a_missing_ticket_or_post_is_gone():
    assert route_post(None, post(ActorType.STAFF), give_up=False) is Route.GONE
    assert route_post(ticket(), None, give_up=False) is Route.GONE


def test_the_give_up_reason_names_the_workflows_error():
    assert give_up_reason({"Error": "TemporaryFailure", "Cause": "503"}) == (
        "TemporaryFailure: 503")
    assert give_up_reason(None) == "failed: "
    assert len(give_up_reason({"Cause": "x" * 900})) == 500


def test_a_lambda_error_shows_its_message_never_its_stack_trace_or_paths():
    cause = json.dumps({"errorMessage": "mail to c@x.io refused: [Errno 2] /var/task/a/b.py",
                        "errorType": "TemporaryFailure", "requestId": "r-1",
                        "stackTrace": ['  File "/var/task/helpdesk/mail/outbound.py", line 9'],
                        })
    reason = give_up_reason({"Error": "TemporaryFailure", "Cause": cause})
    assert reason.startswith("TemporaryFailure: mail to c@x.io refused")
    assert "/var/task" not in reason and "File" not in reason and "line 9" not in reason
    assert give_up_reason({"Error": "X", "Cause": "Traceback (most recent call last):\n  "
                           'File "/opt/python/x.py"'}) == "X: Traceback (most recent call last):"
