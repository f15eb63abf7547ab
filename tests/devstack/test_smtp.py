"""devstack/smtp.py: a real SMTP conversation over 127.0.0.1, and the SES receipt path
(S3 object + Lambda event) checked against the documented SES event shape."""

from __future__ import annotations

import io
import json
import smtplib
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.parser.models import SesModel
from moto import mock_aws

from devstack.smtp import (
    DeliveryError,
    LocalSmtp,
    new_message_id,
    ses_receipt_event,
    store_and_invoke,
)

RAW = (
    b"From: =?utf-8?q?Jos=C3=A9_Customer?= <jose@customer.example>\r\n"
    b"To: Support <support@helpdesk.example>, other@helpdesk.example\r\n"
    b"Cc: \"Doe, Jane\" <jane@customer.example>\r\n"
    b"Subject: =?utf-8?b?UHJpbnRlciBraWFwdXQg4oCUIGhlbHA=?=\r\n"
    b"Date: Mon, 23 Nov 2026 09:00:00 +0000\r\n"
    b"Message-ID: <m1@customer.example>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n"
    b"\r\n"
    b".a line that starts with a dot (dot-stuffed on the wire)\r\n"
    b"caf\xc3\xa9 \xe2\x80\x94 8-bit UTF-8 body\r\n"
)
NOW = datetime(2026, 11, 23, 9, 0, 1, 234000, tzinfo=UTC)
ARN = "arn:aws:lambda:us-east-1:123456789012:function:IngestEmailFunction"


class Recorder:
    def __init__(self, fail_first: int = 0) -> None:
        self.calls: list[tuple[bytes, list[str], str]] = []
        self.fail_first = fail_first

    def __call__(self, raw: bytes, recipients: list[str], mail_from: str) -> None:
        if self.fail_first > 0:
            self.fail_first -= 1
            raise RuntimeError("ingest is down")
        self.calls.append((raw, recipients, mail_from))


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def smtp(recorder: Recorder) -> Iterator[LocalSmtp]:
    with LocalSmtp(recorder, port=0, max_message_bytes=64 * 1024) as server:
        yield server


def send(server: LocalSmtp, raw: bytes, recipients: list[str],
         mail_from: str = "bounce@customer.example", **options: Any) -> None:
    with smtplib.SMTP("127.0.0.1", server.port, timeout=10) as client:
        client.sendmail(mail_from, recipients, raw, **options)


# --- the listener ----------------------------------------------------------------------

def test_mail_reaches_deliver_with_exact_bytes_recipients_and_sender(
        smtp: LocalSmtp, recorder: Recorder) -> None:
    assert smtp.port != 0
    send(smtp, RAW, ["support@helpdesk.example", "other@helpdesk.example"],
         mail_options=["BODY=8BITMIME"])
    assert recorder.calls == [(RAW, ["support@helpdesk.example", "other@helpdesk.example"],
                               "bounce@customer.example")]


def test_smtputf8_addresses_are_accepted(smtp: LocalSmtp, recorder: Recorder) -> None:
    send(smtp, RAW, ["поддержка@helpdesk.example"], mail_from="józef@customer.example",
         mail_options=["SMTPUTF8", "BODY=8BITMIME"])
    assert recorder.calls == [(RAW, ["поддержка@helpdesk.example"], "józef@customer.example")]


def test_oversized_mail_is_refused_with_552(smtp: LocalSmtp, recorder: Recorder) -> None:
    big = RAW + (b"z" * 76 + b"\r\n") * 1000  # ~78 KB of ordinary lines, over the 64 KB cap
    # smtplib announces SIZE=, so the MAIL command already gets the 552 ...
    with pytest.raises(smtplib.SMTPSenderRefused) as refused:
        send(smtp, big, ["support@helpdesk.example"])
    assert refused.value.smtp_code == 552
    # ... and a client that does not announce it gets the 552 after DATA.
    with smtplib.SMTP("127.0.0.1", smtp.port, timeout=10) as client:
        client.ehlo()
        assert client.mail("bounce@customer.example")[0] == 250
        assert client.rcpt("support@helpdesk.example")[0] == 250
        code, _ = client.data(big)
    assert code == 552
    assert recorder.calls == []


def test_failing_deliver_answers_451_and_the_next_mail_gets_through(smtp: LocalSmtp) -> None:
    recorder = Recorder(fail_first=1)
    smtp.deliver = recorder
    smtp.stop()
    smtp.start()  # the handler is built at start
    with smtplib.SMTP("127.0.0.1", smtp.port, timeout=10) as client:
        with pytest.raises(smtplib.SMTPDataError) as failed:
            client.sendmail("bounce@customer.example", ["support@helpdesk.example"], RAW)
        assert failed.value.smtp_code == 451
        assert b"4.3.0" in failed.value.smtp_error
        client.rset()
        # The sender retries on the same connection: accepted this time.
        client.sendmail("bounce@customer.example", ["support@helpdesk.example"], RAW)
    send(smtp, RAW, ["support@helpdesk.example"])
    assert [call[0] for call in recorder.calls] == [RAW, RAW]


def test_a_slow_ingest_does_not_hold_up_other_senders(recorder: Recorder) -> None:
    release = threading.Event()
    fast_done = threading.Event()

    def deliver(raw: bytes, recipients: list[str], mail_from: str) -> None:
        if recipients == ["slow@helpdesk.example"]:
            assert release.wait(10)
        recorder(raw, recipients, mail_from)

    with LocalSmtp(deliver, port=0) as server:
        slow = threading.Thread(target=send, args=(server, RAW, ["slow@helpdesk.example"]))
        slow.start()

        def fast() -> None:
            send(server, RAW, ["fast@helpdesk.example"])
            fast_done.set()

        threading.Thread(target=fast).start()
        assert fast_done.wait(10), "a second session waited for the first one's ingest"
        release.set()
        slow.join(10)
    assert [call[1] for call in recorder.calls] == [["fast@helpdesk.example"],
                                                    ["slow@helpdesk.example"]]


def test_stop_frees_the_port(recorder: Recorder) -> None:
    server = LocalSmtp(recorder, port=0).start()
    port = server.port
    server.stop()
    server.stop()  # idempotent
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass


# --- the SES receipt event ---------------------------------------------------------------

def test_message_ids_look_like_ses_and_are_unique() -> None:
    ids = {new_message_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(len(i) == 40 and i.isalnum() and i == i.lower() for i in ids)


def test_receipt_event_has_the_documented_shape() -> None:
    event = ses_receipt_event(
        message_id="o3vrnil0e2ic28trm7dfhrc2v0cnbeccl4nbp0g1", bucket="b",
        key="inbound/o3vrnil0e2ic28trm7dfhrc2v0cnbeccl4nbp0g1",
        mail_from="bounce@customer.example", recipients=["support@helpdesk.example"],
        raw=RAW, now=NOW, function_arn=ARN, processing_time_ms=12)
    SesModel.model_validate(event)  # Powertools' model of the SES Lambda-action event
    assert json.loads(json.dumps(event)) == event  # plain JSON, as Lambda delivers it
    record = event["Records"][0]
    assert record["eventSource"] == "aws:ses"
    assert record["eventVersion"] == "1.0"
    mail, receipt = record["ses"]["mail"], record["ses"]["receipt"]
    assert set(mail) == {"timestamp", "source", "messageId", "destination",
                         "headersTruncated", "headers", "commonHeaders"}
    assert mail["timestamp"] == "2026-11-23T09:00:01.234Z"
    assert mail["source"] == "bounce@customer.example"
    assert mail["messageId"] == "o3vrnil0e2ic28trm7dfhrc2v0cnbeccl4nbp0g1"
    # destination: the To and Cc addresses of the message
    assert mail["destination"] == ["support@helpdesk.example", "other@helpdesk.example",
                                   "jane@customer.example"]
    assert mail["headersTruncated"] is False
    assert mail["headers"][0] == {"name": "From",
                                  "value": "=?utf-8?q?Jos=C3=A9_Customer?= <jose@customer.example>"}
    assert [h["name"] for h in mail["headers"]][-3:] == [
        "MIME-Version", "Content-Type", "Content-Transfer-Encoding"]
    assert mail["commonHeaders"] == {
        "returnPath": "bounce@customer.example",
        "from": ["José Customer <jose@customer.example>"],
        "to": ["Support <support@helpdesk.example>", "other@helpdesk.example"],
        "cc": ['"Doe, Jane" <jane@customer.example>'],
        "date": "Mon, 23 Nov 2026 09:00:00 +0000",
        "messageId": "<m1@customer.example>",
        "subject": "Printer kiaput — help",
    }
    assert receipt == {
        "timestamp": "2026-11-23T09:00:01.234Z",
        "processingTimeMillis": 12,
        "recipients": ["support@helpdesk.example"],
        "spamVerdict": {"status": "PASS"},
        "virusVerdict": {"status": "PASS"},
        "spfVerdict": {"status": "PASS"},
        "dkimVerdict": {"status": "PASS"},
        "dmarcVerdict": {"status": "PASS"},
        "action": {"type": "Lambda", "functionArn": ARN, "invocationType": "Event"},
    }
    assert "content" not in record["ses"]  # the Lambda action never carries the body


def test_receipt_event_truncates_headers_above_10_kb() -> None:
    many = b"".join(b"X-Filler-%d: %s\r\n" % (i, b"v" * 200) for i in range(80))
    event = ses_receipt_event(message_id="m" * 40, bucket="b", key="inbound/" + "m" * 40,
                              mail_from="a@customer.example", recipients=["s@h.example"],
                              raw=many + RAW, now=NOW, function_arn=ARN)
    mail = event["Records"][0]["ses"]["mail"]
    assert mail["headersTruncated"] is True
    assert 0 < len(mail["headers"]) < 80
    assert sum(len(h["name"]) + len(h["value"]) for h in mail["headers"]) <= 10 * 1024


def test_receipt_event_key_must_name_the_message() -> None:
    with pytest.raises(ValueError):
        ses_receipt_event(message_id="abc", bucket="b", key="inbound/other", mail_from="",
                          recipients=[], raw=RAW, now=NOW, function_arn=ARN)


# --- store_and_invoke: S3 action + Lambda action -----------------------------------------

class FakeLambda:
    """Records invocations; answers like boto3's lambda client."""

    def __init__(self, fail: bool = False) -> None:
        self.invocations: list[dict[str, Any]] = []
        self.fail = fail

    def get_function(self, FunctionName: str) -> dict[str, Any]:
        return {"Configuration": {"FunctionName": FunctionName, "FunctionArn": ARN}}

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        self.invocations.append(kwargs)
        answer: dict[str, Any] = {"StatusCode": 200,
                                  "Payload": io.BytesIO(b'{"accepted": 1}')}
        if self.fail:
            answer["FunctionError"] = "Unhandled"
            answer["Payload"] = io.BytesIO(b'{"errorType": "KeyError"}')
        return answer


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="mail-bucket")
        yield client


def _event(invocation: dict[str, Any]) -> dict[str, Any]:
    return json.loads(invocation["Payload"])


def test_store_and_invoke_puts_the_mail_in_s3_and_invokes_with_the_ses_event(s3: Any) -> None:
    fake = FakeLambda()
    deliver = store_and_invoke(s3, fake, "mail-bucket", "helpdesk-IngestEmailFunction-x",
                               clock=lambda: NOW)
    deliver(RAW, ["support@helpdesk.example"], "bounce@customer.example")

    [invocation] = fake.invocations
    assert invocation["FunctionName"] == "helpdesk-IngestEmailFunction-x"
    assert invocation["InvocationType"] == "RequestResponse"  # 250 only after the ingest
    event = _event(invocation)
    SesModel.model_validate(event)
    ses = event["Records"][0]["ses"]
    message_id = ses["mail"]["messageId"]
    assert ses["receipt"]["action"] == {"type": "Lambda", "functionArn": ARN,
                                        "invocationType": "Event"}
    assert ses["receipt"]["recipients"] == ["support@helpdesk.example"]
    assert ses["mail"]["source"] == "bounce@customer.example"

    [stored] = s3.list_objects_v2(Bucket="mail-bucket")["Contents"]
    assert stored["Key"] == f"inbound/{message_id}"
    body = s3.get_object(Bucket="mail-bucket", Key=stored["Key"])["Body"].read()
    # As SES stores it: its own headers first, then the received bytes unchanged.
    assert body.endswith(RAW)
    prepended = body[: -len(RAW)].decode()
    assert prepended.startswith("Return-Path: <bounce@customer.example>\r\nReceived: from ")
    assert f"with SMTP id {message_id} for support@helpdesk.example;" in prepended
    assert "X-SES-Spam-Verdict: PASS\r\nX-SES-Virus-Verdict: PASS\r\n" in prepended
    names = [h["name"] for h in ses["mail"]["headers"]]
    assert names[:5] == ["Return-Path", "Received", "X-SES-Spam-Verdict",
                         "X-SES-Virus-Verdict", "From"]


def test_store_and_invoke_can_store_the_exact_bytes(s3: Any) -> None:
    fake = FakeLambda()
    deliver = store_and_invoke(s3, fake, "mail-bucket", ARN, prefix="in/",
                               add_receipt_headers=False)
    deliver(RAW, ["support@helpdesk.example"], "bounce@customer.example")
    deliver(RAW, ["support@helpdesk.example"], "bounce@customer.example")
    ids = [_event(i)["Records"][0]["ses"]["mail"]["messageId"] for i in fake.invocations]
    assert len(set(ids)) == 2  # one id per SMTP transaction
    for message_id in ids:
        assert s3.get_object(Bucket="mail-bucket", Key=f"in/{message_id}")["Body"].read() == RAW


def test_function_error_means_451_and_the_mail_is_kept_for_the_retry(s3: Any) -> None:
    failing = FakeLambda(fail=True)
    deliver = store_and_invoke(s3, failing, "mail-bucket", "ingest")
    with pytest.raises(DeliveryError):
        deliver(RAW, ["support@helpdesk.example"], "bounce@customer.example")

    with LocalSmtp(deliver, port=0) as server:
        with pytest.raises(smtplib.SMTPDataError) as failed:
            send(server, RAW, ["support@helpdesk.example"])
        assert failed.value.smtp_code == 451
        failing.fail = False
        send(server, RAW, ["support@helpdesk.example"])
    assert len(failing.invocations) == 3


def test_over_smtp_into_s3_and_a_real_moto_lambda(s3: Any, tmp_path: Any) -> None:
    """The whole local path: smtplib -> LocalSmtp -> S3 -> moto Lambda -> our handler."""
    import zipfile

    from devstack import lambda_runtime

    RECEIVED.clear()
    iam = boto3.client("iam", region_name="us-east-1")
    role = iam.create_role(RoleName="ingest", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("placeholder.py", "")
    lam = boto3.client("lambda", region_name="us-east-1")
    arn = lam.create_function(FunctionName="ingest", Runtime="python3.11", Role=role,
                              Handler="tests.devstack.test_smtp.recording_handler",
                              Code={"ZipFile": code.getvalue()})["FunctionArn"]
    lambda_runtime.install()
    try:
        with LocalSmtp(store_and_invoke(s3, lam, "mail-bucket", "ingest"), port=0) as server:
            send(server, RAW, ["support@helpdesk.example"])
            RECEIVED.append({"fail": True})  # the next invocation raises
            with pytest.raises(smtplib.SMTPDataError) as failed:
                send(server, RAW, ["support@helpdesk.example"])
            assert failed.value.smtp_code == 451
    finally:
        lambda_runtime.uninstall()
    event = RECEIVED[0]
    SesModel.model_validate(event)
    ses = event["Records"][0]["ses"]
    assert ses["receipt"]["action"]["functionArn"] == arn
    key = f"inbound/{ses['mail']['messageId']}"
    assert s3.get_object(Bucket="mail-bucket", Key=key)["Body"].read().endswith(RAW)


RECEIVED: list[dict[str, Any]] = []


def recording_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Stands in for ingest_email in the moto Lambda test."""
    if RECEIVED and RECEIVED[-1].get("fail"):
        RECEIVED.pop()
        raise RuntimeError("ingest failed")
    RECEIVED.append(event)
    return {"accepted": 1}


# --- long lines and the size limit --------------------------------------------------------

def _html_mail(line_octets: int) -> bytes:
    """A mail whose HTML body is one line of `line_octets` octets (CRLF not counted), as mail
    builders write it; it starts with a dot so dot-stuffing is exercised too."""
    head = b".<html><body><p>"
    tail = b"</p></body></html>"
    line = head + b"x" * (line_octets - len(head) - len(tail)) + tail
    assert len(line) == line_octets
    return (b"From: jose@customer.example\r\nTo: support@helpdesk.example\r\n"
            b"Subject: long HTML\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: text/html; charset=utf-8\r\n\r\n" + line + b"\r\n")


@pytest.mark.parametrize("line_octets", [10_000, 100_000])
def test_lines_far_over_1000_octets_arrive_byte_exact(recorder: Recorder,
                                                      line_octets: int) -> None:
    raw = _html_mail(line_octets)
    with LocalSmtp(recorder, port=0) as server, \
            smtplib.SMTP("127.0.0.1", server.port, timeout=10) as client:
        client.ehlo()
        assert client.mail("bounce@customer.example")[0] == 250
        assert client.rcpt("support@helpdesk.example")[0] == 250
        code, _ = client.data(raw)
    assert code == 250
    assert recorder.calls == [(raw, ["support@helpdesk.example"], "bounce@customer.example")]


def _data_without_size(client: smtplib.SMTP, raw: bytes) -> tuple[int, bytes]:
    # No SIZE= on MAIL: the server only finds out while reading DATA.
    assert client.mail("bounce@customer.example")[0] == 250
    assert client.rcpt("support@helpdesk.example")[0] == 250
    return client.data(raw)


def test_over_the_size_limit_is_a_552_naming_it_and_the_server_goes_on(
        recorder: Recorder) -> None:
    limit = 20_000
    many_lines = RAW + (b"z" * 76 + b"\r\n") * 400  # ~31 KB of ordinary lines
    one_line = _html_mail(50_000)  # a single line longer than the whole limit
    with LocalSmtp(recorder, port=0, max_message_bytes=limit) as server:
        with smtplib.SMTP("127.0.0.1", server.port, timeout=10) as client:
            client.ehlo()
            for too_big in (many_lines, one_line):
                code, text = _data_without_size(client, too_big)
                assert (code, text) == (
                    552, b"5.3.4 Message size exceeds fixed maximum message size of "
                         b"20000 bytes")
            # The same connection still takes a mail that fits ...
            assert _data_without_size(client, RAW)[0] == 250
            # ... and SIZE= over the limit is refused at MAIL with the same words.
            code, text = client.mail("bounce@customer.example", [f"SIZE={limit + 1}"])
            assert code == 552 and b"20000 bytes" in text
        send(server, RAW, ["support@helpdesk.example"])  # so does a new connection
    assert [call[0] for call in recorder.calls] == [RAW, RAW]


def test_max_message_bytes_must_be_positive(recorder: Recorder) -> None:
    with pytest.raises(ValueError):
        LocalSmtp(recorder, port=0, max_message_bytes=0)
