"""Local inbound mail, delivered the way SES delivers it on AWS.

On AWS an SES receipt rule stores the raw MIME in the bucket (S3 action), then invokes the
ingest function with an event that describes the mail but does not carry the body (Lambda
action). moto stores receipt rules but never acts on them, so locally an SMTP listener on
127.0.0.1 plays SES's inbound endpoint:

    smtp = LocalSmtp(store_and_invoke(s3, lambda_client, bucket, function_name)).start()
    ...  # any SMTP client -> 127.0.0.1:smtp.port
    smtp.stop()

The SMTP client is answered only after the ingest function returned, so a failing ingest
gives a 4xx and the sender keeps the mail and retries (SES would retry its Event invocation
and then use the function's dead-letter queue; either way the mail is not lost)."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email import policy
from email.headerregistry import AddressHeader
from email.parser import HeaderParser
from email.utils import format_datetime, getaddresses
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

logger = logging.getLogger(__name__)

Deliver = Callable[[bytes, list[str], str], None]

TEMPORARY_FAILURE = "451 4.3.0 temporary failure"
HEADERS_LIMIT = 10 * 1024  # SES truncates the event's header list above 10 KB
RECEIVING_HOST = "inbound-smtp.devstack.local"  # stands in for inbound-smtp.<region>.amazonaws.com


class LocalSmtp:
    """An SMTP server on `host:port` (port 0: any free port, read `port` after `start`) that
    hands every accepted message to `deliver(raw, recipients, mail_from)`.

    `raw` is the DATA exactly as received (dot-unstuffed, CRLF line ends); 250 once `deliver`
    returned, 451 if it raised (the sender retries), 552 above `max_message_bytes` (SES's own
    limit is 40 MB). 8BITMIME and SMTPUTF8 are accepted, as SES accepts them. Lines may be
    as long as the whole message: receiving MTAs (Postfix, SES) accept HTML on one line far
    over RFC 5321's 1,000 octets, so refusing it here would hide mail that works on AWS."""

    def __init__(self, deliver: Deliver, host: str = "127.0.0.1", port: int = 2525,
                 max_message_bytes: int = 40 * 1024 * 1024) -> None:
        if max_message_bytes <= 0:  # aiosmtpd reads 0 as "no limit"; we never want that
            raise ValueError(f"max_message_bytes must be positive, not {max_message_bytes}")
        self.deliver = deliver
        self.host = host
        self.port = port
        self.max_message_bytes = max_message_bytes
        self._controller: _Controller | None = None

    def start(self) -> LocalSmtp:
        if self._controller is not None:
            return self
        controller = _Controller(
            _Handler(self.deliver), hostname=self.host, port=self.port,
            # A fixed name: the default, socket.getfqdn(), can wait on DNS we do not have.
            server_hostname=RECEIVING_HOST,
            data_size_limit=self.max_message_bytes, enable_SMTPUTF8=True, decode_data=False)
        controller.start()
        self._controller = controller
        self.port = controller.port
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> LocalSmtp:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


class _Smtp(SMTP):
    """aiosmtpd's SMTP without its RFC 5321 line limit, and with one 552 answer naming the size
    limit for every way a message can be too big."""

    def __init__(self, handler: Any, *, data_size_limit: int, **kwargs: Any) -> None:
        # aiosmtpd uses `line_length_limit` both as the StreamReader's limit and as its DATA
        # line check; no line of an acceptable message is longer than the message, so a line
        # over it means the message is over `data_size_limit` too. Set before __init__, which
        # builds the reader.
        self.line_length_limit = max(SMTP.line_length_limit, data_size_limit)
        self._too_big = (f"552 5.3.4 Message size exceeds fixed maximum message size of "
                         f"{data_size_limit} bytes")
        super().__init__(handler, data_size_limit=data_size_limit, **kwargs)

    async def push(self, status: str | bytes) -> None:
        # aiosmtpd 1.4.6 (pinned) answers an over-long DATA line with a 500 (only reachable
        # for an oversized message, see above) and a too-big message or SIZE= with a 552
        # that does not say the limit: senders get one clear 552 instead.
        text = status.decode(errors="replace") if isinstance(status, bytes) else status
        await super().push(self._too_big if text in _SIZE_ANSWERS else text)


_SIZE_ANSWERS = frozenset({
    "500 Line too long (see RFC5321 4.5.3.1.6)",
    "552 Error: Too much mail data",
    "552 Error: message size exceeds fixed maximum message size",
})


class _Controller(Controller):
    def factory(self) -> SMTP:
        return _Smtp(self.handler, **self.SMTP_kwargs)

    def _trigger_server(self) -> None:
        # aiosmtpd connects to self.port to check the server is up; with port 0 that is the
        # port the OS picked, which only the bound socket knows.
        sockets = getattr(self.server, "sockets", None)
        if self.port == 0 and sockets:
            self.port = sockets[0].getsockname()[1]
        super()._trigger_server()


class _Handler:
    def __init__(self, deliver: Deliver) -> None:
        self._deliver = deliver

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content
        if raw is None:
            content = envelope.content
            raw = content if isinstance(content, bytes) else (content or "").encode()
        recipients = list(envelope.rcpt_tos)
        mail_from = envelope.mail_from or ""
        try:
            # deliver blocks (S3, Lambda): off the event loop, so other sessions go on.
            await asyncio.get_running_loop().run_in_executor(
                None, self._deliver, bytes(raw), recipients, mail_from)
        except Exception:
            logger.exception("inbound mail from %r to %r not delivered; answering 451",
                             mail_from, recipients)
            return TEMPORARY_FAILURE
        return "250 2.0.0 Ok"


def new_message_id() -> str:
    """An SES-like inbound message id: 40 lowercase letters/digits (e.g.
    o3vrnil0e2ic28trm7dfhrc2v0cnbeccl4nbp0g1), also the S3 object key's last part."""
    return base64.b32encode(secrets.token_bytes(25)).decode().lower()


def _iso_millis(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _header_block(raw: bytes) -> str:
    end = len(raw)
    for separator in (b"\r\n\r\n", b"\n\n"):
        found = raw.find(separator)
        if found != -1:
            end = min(end, found + len(separator))
    # SMTPUTF8 mail carries UTF-8 headers; anything else undecodable must not break the event.
    return raw[:end].decode("utf-8", errors="replace")


def _unfold(value: str) -> str:
    return re.sub(r"\r?\n(?=[ \t])", "", value)


def _addresses(header: Any) -> list[str]:
    """Decoded mailboxes as SES lists them (`"Doe, John" <john@example.com>`)."""
    if isinstance(header, AddressHeader):
        try:
            return [str(address) for address in header.addresses]
        except Exception:  # a malformed header: keep what was written
            pass
    return [part.strip() for part in str(header).split(",") if part.strip()]


def ses_receipt_headers(*, message_id: str, mail_from: str, recipients: list[str],
                        now: datetime, newline: bytes = b"\r\n") -> bytes:
    """The headers SES puts in front of a received mail (what the S3 object and the event's
    `headers` start with). Only those whose values we can honestly tell: no SPF/DKIM
    results, no X-SES-RECEIPT signature."""
    received = (f"from localhost (localhost [127.0.0.1]) by {RECEIVING_HOST} with SMTP id "
                f"{message_id}{' for ' + recipients[0] if len(recipients) == 1 else ''};"
                f"{newline.decode()} {format_datetime(now.astimezone(UTC))}")
    lines = [f"Return-Path: <{mail_from}>", f"Received: {received}",
             "X-SES-Spam-Verdict: PASS", "X-SES-Virus-Verdict: PASS"]
    return b"".join(line.encode() + newline for line in lines)


def ses_receipt_event(*, message_id: str, bucket: str, key: str, mail_from: str,
                      recipients: list[str], raw: bytes, now: datetime,
                      function_arn: str, processing_time_ms: int = 1) -> dict[str, Any]:
    """The event an SES receipt rule's Lambda action sends (documented sample:
    https://docs.aws.amazon.com/ses/latest/dg/receiving-email-action-lambda-event.html).

    `raw` is the stored object (headers are read from it; the body is not in the event, as
    on AWS). `bucket` and `key` are not part of a Lambda action's event: the function finds
    the object by convention (bucket + prefix + messageId); they are accepted so callers
    state where the object is and checked against `message_id`."""
    if not key.endswith(message_id):
        raise ValueError(f"the S3 key {key!r} must end with the message id {message_id!r}, "
                         f"as SES's S3 action names objects (bucket {bucket!r})")
    text = _header_block(raw)
    headers: list[dict[str, str]] = []
    size = 0
    truncated = False
    for name, value in HeaderParser(policy=policy.compat32).parsestr(text).items():
        value = _unfold(str(value))
        size += len(name) + len(value) + 4
        if size > HEADERS_LIMIT:
            truncated = True
            break
        headers.append({"name": name, "value": value})

    parsed = HeaderParser(policy=policy.default).parsestr(text)
    common: dict[str, Any] = {"returnPath": mail_from}
    for field, key_name in (("from", "from"), ("to", "to"), ("cc", "cc"), ("bcc", "bcc"),
                            ("sender", "sender"), ("reply-to", "replyTo")):
        values = [item for header in parsed.get_all(field) or [] for item in _addresses(header)]
        if values or field in ("from", "to"):
            common[key_name] = values
    common["date"] = str(parsed.get("date") or "")
    common["messageId"] = str(parsed.get("message-id") or "")
    common["subject"] = str(parsed.get("subject") or "")

    # `destination`: the To and Cc addresses of the message (SES docs); the envelope when none.
    named = [address for _, address in getaddresses(
        [str(value) for field in ("to", "cc") for value in parsed.get_all(field) or []])
        if address]
    destination = list(dict.fromkeys(named)) or list(recipients)
    stamp = _iso_millis(now)
    return {
        "Records": [{
            "eventSource": "aws:ses",
            "eventVersion": "1.0",
            "ses": {
                "mail": {
                    "timestamp": stamp,
                    "source": mail_from,
                    "messageId": message_id,
                    "destination": destination,
                    "headersTruncated": truncated,
                    "headers": headers,
                    "commonHeaders": common,
                },
                "receipt": {
                    "timestamp": stamp,
                    "processingTimeMillis": max(1, int(processing_time_ms)),
                    "recipients": list(recipients),
                    "spamVerdict": {"status": "PASS"},
                    "virusVerdict": {"status": "PASS"},
                    "spfVerdict": {"status": "PASS"},
                    "dkimVerdict": {"status": "PASS"},
                    "dmarcVerdict": {"status": "PASS"},
                    "action": {"type": "Lambda", "functionArn": function_arn,
                               "invocationType": "Event"},
                },
            },
        }],
    }


class DeliveryError(RuntimeError):
    """The ingest function failed: the SMTP answer is 451 and the sender retries."""


def store_and_invoke(s3_client: Any, lambda_client: Any, bucket: str, function_name: str,
                     prefix: str = "inbound/", *, function_arn: str | None = None,
                     add_receipt_headers: bool = True,
                     clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> Deliver:
    """A `deliver` for LocalSmtp doing what the SES receipt rule does on AWS: put the mail at
    `{prefix}{messageId}` in the bucket (S3 action), then invoke the function with the SES
    event (Lambda action). Invoked with RequestResponse, not SES's Event, so the SMTP answer
    waits for the ingest and a FunctionError becomes a 451.

    With `add_receipt_headers` the stored object starts with the headers SES prepends
    (Return-Path, Received, X-SES-*-Verdict), followed by the received bytes unchanged."""
    arn: list[str] = [function_arn] if function_arn else []

    def resolve_arn() -> str:
        # Looked up on first use: the deliverer may be built before the function exists.
        if not arn:
            if function_name.startswith("arn:"):
                arn.append(function_name)
            else:
                found = lambda_client.get_function(FunctionName=function_name)
                arn.append(found["Configuration"]["FunctionArn"])
        return arn[0]

    def deliver(raw: bytes, recipients: list[str], mail_from: str) -> None:
        received = clock()
        started = time.monotonic()
        message_id = new_message_id()
        key = f"{prefix}{message_id}"
        stored = raw
        if add_receipt_headers:
            newline = b"\r\n" if b"\r\n" in raw[:4096] else b"\n"
            stored = ses_receipt_headers(message_id=message_id, mail_from=mail_from,
                                         recipients=recipients, now=received,
                                         newline=newline) + raw
        s3_client.put_object(Bucket=bucket, Key=key, Body=stored)
        event = ses_receipt_event(
            message_id=message_id, bucket=bucket, key=key, mail_from=mail_from,
            recipients=recipients, raw=stored, now=received, function_arn=resolve_arn(),
            processing_time_ms=int((time.monotonic() - started) * 1000))
        answer = lambda_client.invoke(FunctionName=function_name,
                                      InvocationType="RequestResponse",
                                      Payload=json.dumps(event).encode())
        payload = answer.get("Payload")
        body = payload.read() if hasattr(payload, "read") else payload
        if answer.get("FunctionError"):
            raise DeliveryError(f"{function_name} failed on {key}: "
                                f"{(body or b'')[:2000]!r}")
        logger.info("inbound mail %s from %r to %r stored at s3://%s/%s and ingested",
                    message_id, mail_from, recipients, bucket, key)

    return deliver
