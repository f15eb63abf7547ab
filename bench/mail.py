"""Mail figures: AWS calls per ingested mail (through the real ingest_email handler on moto)
and mails ingested per second over SMTP into the running local stack."""

from __future__ import annotations

import os
import smtplib
import time
from collections import Counter
from datetime import UTC, datetime
from email.message import EmailMessage

import requests

BENCH_ADMIN = ("bench-admin@example.com", "bench-admin-key")


def sample_mail(number: int, *, in_reply_to: str | None = None,
                attachment: bytes | None = None) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = f"Клиент {number} <client{number}@example.ru>"
    mail["To"] = "support@example.com"
    mail["Subject"] = f"Не проходит оплата #{number}"
    mail["Message-ID"] = f"<bench-{number}-{time.time_ns()}@example.ru>"
    if in_reply_to:
        mail["In-Reply-To"] = in_reply_to
    mail.set_content("Здравствуйте!\n\nКарта отклонена.\n\n> старое письмо\n",
                     charset="koi8-r")
    if attachment:
        mail.add_attachment(attachment, maintype="application", subtype="pdf",
                            filename="счёт.pdf")
    return mail


def calls_per_mail() -> list[tuple[str, Counter[str]]]:
    """Each kind of mail through `ingest_email.handler` with an SES-shaped event, counting
    every DynamoDB and S3 request it makes (reading the stored MIME included)."""
    import boto3
    from moto import mock_aws

    from devstack.smtp import ses_receipt_event
    from tests.support.template import table_create_args

    calls: Counter[str] = Counter()
    with mock_aws():
        os.environ.update(TABLE_NAME="bench-mail", BUCKET_NAME="bench-mail", LOG_LEVEL="WARNING",
                          SUPPORT_MAILBOXES="support@example.com", AWS_ENDPOINT_URL="")
        os.environ.pop("AWS_ENDPOINT_URL")
        boto3.setup_default_session(region_name="us-east-1")
        session = boto3.DEFAULT_SESSION
        assert session is not None
        for service in ("dynamodb", "s3"):
            session.events.register(
                f"before-call.{service}",
                lambda model, _service=service, **_: calls.update([f"{_service}:{model.name}"]))
        session.client("dynamodb").create_table(**table_create_args("bench-mail"))
        s3 = session.client("s3")
        s3.create_bucket(Bucket="bench-mail")
        from helpdesk.aws import clients, runtime
        from helpdesk.aws.environment import DeskSettings, settings_of
        from ingest_email import handler as ingest_email

        clients.client.cache_clear()
        ingest_email.ingest_of_mail.cache_clear()
        runtime.helpdesk_from(settings_of(DeskSettings)).bootstrap(*BENCH_ADMIN)
        results = []

        def deliver(label: str, mail: EmailMessage, ses_id: str) -> None:
            raw = mail.as_bytes()
            s3.put_object(Bucket="bench-mail", Key=f"inbound/{ses_id}", Body=raw)
            event = ses_receipt_event(message_id=ses_id, bucket="bench-mail",
                                      key=f"inbound/{ses_id}", mail_from="x@example.ru",
                                      recipients=["support@example.com"], raw=raw,
                                      now=datetime.now(UTC), function_arn="arn:bench")
            calls.clear()
            ingest_email.handler(event, _LambdaContext())
            results.append((label, Counter(calls)))

        first = sample_mail(1)
        deliver("new mail, new customer", first, "ses-1")
        deliver("new mail, known customer", sample_mail(1), "ses-2")
        deliver("reply (In-Reply-To)", sample_mail(1, in_reply_to=first["Message-ID"]),
                "ses-3")
        deliver("new mail + 1 attachment", sample_mail(2, attachment=b"%PDF" * 1000), "ses-4")
        deliver("the same mail again", first, "ses-1")
        return results


def smtp_throughput(count: int = 40) -> tuple[float, float]:
    """Mails per second from SMTP accepted to ticket visible in the API, and the stack's
    start-up seconds. Each SMTP transaction waits for the ingest (as SES's S3 + Lambda
    actions do), so this is the serial, end-to-end rate."""
    from devstack.process import start_stack

    started_at = time.monotonic()
    stack = start_stack(BENCH_ADMIN)
    start_up = time.monotonic() - started_at
    try:
        began = time.monotonic()
        with smtplib.SMTP("127.0.0.1", stack.ready["smtp_port"], timeout=60) as smtp:
            for number in range(count):
                smtp.send_message(sample_mail(1000 + number))
        session = requests.Session()
        session.auth = BENCH_ADMIN
        while True:
            listed = session.get(f"{stack.ready['api_url']}/tickets/",
                                 params={"per_page": 100}, timeout=30).json()
            if len(listed["data"]) >= count or time.monotonic() - began > 300:
                break
            time.sleep(0.1)
        return count / (time.monotonic() - began), start_up
    finally:
        stack.stop()


class _LambdaContext:
    function_name = "IngestEmailFunction"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    aws_request_id = "bench"


def report() -> None:
    print("\nAWS calls per ingested mail (ingest_email.handler, S3 read of the MIME included):")
    for label, counts in calls_per_mail():
        detail = ", ".join(f"{name} {n}" for name, n in sorted(counts.items()))
        print(f"  {label:<36} {sum(counts.values()):>3}  ({detail})")
    rate, start_up = smtp_throughput()
    print(f"\nLocal stack: up in {start_up:.1f} s; {rate:.1f} mails/s over SMTP, each "
          "stored, ingested and visible in the API (serial, one SMTP session)")
