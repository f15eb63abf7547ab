"""MailSender on Amazon SES (raw MIME, so every header is ours)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from helpdesk.delivery import TemporaryFailure

# SES answers these when it may accept the same mail a little later.
TEMPORARY = {"Throttling", "ThrottlingException", "ServiceUnavailable", "InternalFailure",
             "TooManyRequestsException", "LimitExceededException"}


class SesSender:
    def __init__(self, client: Any) -> None:
        self._client = client

    def send_raw(self, source: str, destinations: list[str], raw: bytes) -> str:
        try:
            answer = self._client.send_raw_email(Source=source, Destinations=destinations,
                                                 RawMessage={"Data": raw})
        except ClientError as error:
            if error.response["Error"]["Code"] in TEMPORARY:
                raise TemporaryFailure(str(error)) from error
            raise
        return str(answer["MessageId"])
