"""The local stack as one object: embedded AWS + the template's resources + gateway +
scheduler. `make run` and the end-to-end tests both use it."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from devstack import aws_calls, sfn_clock
from devstack.aws import EmbeddedAws, StackInfo, deploy_stack
from devstack.gateway import LocalGateway, Route
from devstack.outbox import Outbox, verify_sender
from devstack.scheduler import Job, Scheduler, scheduled_event
from devstack.seed import DemoAgent, seed_demo
from devstack.smtp import LocalSmtp, store_and_invoke
from helpdesk.aws.clock import OffsetClock
from helpdesk.mail.ingest import Mailboxes

OUTBOX = Path(__file__).resolve().parents[1] / ".local" / "outbox"


def template_parameters(environ: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """(the mail settings, every template parameter set) from the environment variables
    named after the deployed template's parameters: SUPPORT_MAILBOXES, MAILBOX_DEPARTMENTS,
    RATE_LIMIT_PER_MINUTE, LOG_LEVEL (the functions' logs)."""
    mail_settings = {"SupportMailboxes": environ.get("SUPPORT_MAILBOXES", "support@example.com"),
                     "MailboxDepartments": environ.get("MAILBOX_DEPARTMENTS", "")}
    parameters = dict(mail_settings)
    if environ.get("RATE_LIMIT_PER_MINUTE"):
        parameters["RateLimitPerMinute"] = environ["RATE_LIMIT_PER_MINUTE"]
    if environ.get("LOG_LEVEL"):
        parameters["LogLevel"] = environ["LOG_LEVEL"].upper()
    return mail_settings, parameters


class LocalStack:
    def __init__(self, port: int = 8000, aws_port: int = 0, quiet: bool = False,
                 smtp_port: int = 2525, outbox_folder: Path = OUTBOX) -> None:
        self._port = port
        self._smtp_port = smtp_port
        self.outbox = Outbox(outbox_folder)
        self.smtp: LocalSmtp | None = None
        self._aws_port = aws_port
        self._quiet = quiet
        self.admin_email = os.environ.get("ADMIN_EMAIL", "admin@example.com").lower()
        self.admin_api_key = os.environ.get("ADMIN_API_KEY") or secrets.token_urlsafe(24)
        self.aws: EmbeddedAws | None = None
        self.clock: OffsetClock | None = None
        self.stack: StackInfo | None = None
        self.gateway: LocalGateway | None = None
        self.scheduler: Scheduler | None = None

    def start(self) -> LocalStack:
        self.aws = EmbeddedAws(port=self._aws_port).start()
        # Everything in this process reads "now" from one controllable clock.
        self.clock = OffsetClock(OUTBOX.parent / f"clock-{os.getpid()}.json")
        self.clock.set_offset(0)
        sfn_clock.install(self.clock)  # Wait states and Retry intervals too
        self.aws.set_environment({"HELPDESK_CLOCK_FILE": str(self.clock.path)})
        mail_settings, parameters = template_parameters(os.environ)
        self.stack = deploy_stack(self.aws, parameters=parameters)
        self._mailboxes = Mailboxes.parse(mail_settings["SupportMailboxes"],
                                          mail_settings["MailboxDepartments"])
        self.outbox.install()
        import boto3

        # moto sends only from verified identities, as SES does outside its sandbox.
        for mailbox in self._mailboxes.addresses:
            verify_sender(boto3.client("sesv2"), mailbox.rpartition("@")[2])
        self.smtp = LocalSmtp(
            store_and_invoke(boto3.client("s3"), boto3.client("lambda"), self.stack.bucket_name,
                             self.stack.function_names["IngestEmailFunction"]),
            port=self._smtp_port,
        ).start()
        from api import deps

        deps.helpdesk().bootstrap(self.admin_email, self.admin_api_key)
        from chalice.local import LocalChalice

        import api.handler
        import webhooks_in.handler

        # Chalice keeps the current request on the app object: fine for a Lambda that serves
        # one request at a time, not for our threaded server. Keep it per thread, as
        # `chalice local` does.
        api.handler.app.__class__ = LocalChalice

        self.gateway = LocalGateway(
            routes=[
                Route("/api/v2", api.handler.handler, "/api/v2/{proxy+}"),
                Route("/webhooks", webhooks_in.handler.handler, "/webhooks/{proxy+}"),
                Route("/_local", self._dev_endpoint, "/_local/{proxy+}"),
            ],
            port=self._port,
            quiet=self._quiet,
        ).start()
        self.scheduler = Scheduler([
            Job(name, seconds, self._invoker(name, rule_arn))
            for name, (seconds, rule_arn) in self._schedules().items()
        ])
        self.scheduler.start()
        return self

    def stop(self) -> None:
        for part in (self.scheduler, self.gateway, self.smtp, self.aws):
            if part is not None:
                part.stop()
        self.outbox.uninstall()
        sfn_clock.uninstall()
        if self.clock is not None:
            self.clock.path.unlink(missing_ok=True)

    @property
    def url(self) -> str:
        assert self.gateway is not None
        return self.gateway.url

    @property
    def aws_endpoint(self) -> str:
        assert self.aws is not None
        return self.aws.endpoint_url

    @property
    def smtp_port(self) -> int:
        assert self.smtp is not None
        return self.smtp.port

    @property
    def mailboxes(self) -> str:
        return ", ".join(self._mailboxes.addresses)

    @property
    def table_name(self) -> str:
        assert self.stack is not None
        return self.stack.table_name

    def seed_demo(self) -> list[DemoAgent]:
        from api import deps

        return seed_demo(deps.helpdesk(), self.admin_email)

    def _schedules(self) -> dict[str, tuple[float, str]]:
        assert self.stack is not None
        return {
            logical_id: (seconds, f"arn:aws:events:us-east-1:123456789012:rule/{logical_id}")
            for logical_id, seconds in self.stack.schedules.items()
        }

    def _invoker(self, logical_id: str, rule_arn: str) -> Any:
        """Invoke through the embedded Lambda service, as EventBridge would."""
        import boto3

        assert self.stack is not None
        function_name = self.stack.function_names[logical_id]
        client = boto3.client("lambda")

        def invoke(wait: bool = False) -> Any:
            event = scheduled_event(rule_arn, self.clock() if self.clock else datetime.now(UTC))
            answer = client.invoke(FunctionName=function_name,
                                   InvocationType="RequestResponse" if wait else "Event",
                                   Payload=json.dumps(event).encode())
            return json.loads(answer["Payload"].read() or b"null") if wait else None

        return invoke

    def _dev_endpoint(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        """Dev-only: /_local/aws-calls tells which DynamoDB operations ran (a test proves
        no Scan did), the other AWS requests and the workflow states entered;
        /_local/executions lists ticket_event workflow runs; /_local/outbox the mail sent."""
        path = event.get("path", "")
        if path.rstrip("/") in ("/_local/clock", "/_local/tick"):
            return self._clock_endpoint(path.rstrip("/"), event)
        if path.rstrip("/") == "/_local/aws-calls":
            body: Any = aws_calls.snapshot()
        elif path.rstrip("/") == "/_local/executions":
            body = {"executions": self._executions()}
        elif path.rstrip("/") == "/_local/outbox":
            body = {"folder": str(self.outbox.folder), "messages": self.outbox.messages()}
        else:
            return {"statusCode": 404, "headers": {"Content-Type": "application/json"},
                    "body": json.dumps({"errors": [{"code": "not_found", "title": "Not found",
                                                    "details": f"no such resource: {path}"}]})}
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"},
                "body": json.dumps(body, default=str)}

    def _clock_endpoint(self, path: str, event: dict[str, Any]) -> dict[str, Any]:
        """GET /_local/clock: the stack's now. POST /_local/clock {"advance_seconds": N} or
        {"offset_seconds": N} moves it. POST /_local/tick runs every scheduled function once,
        now, and answers with what they returned (EventBridge's minute, on demand)."""
        assert self.clock is not None
        body: Any = {}
        if event.get("httpMethod") == "POST":
            try:
                given = json.loads(event.get("body") or "{}")
                if path == "/_local/clock":
                    seconds = (float(given["offset_seconds"]) if "offset_seconds" in given
                               else self.clock.offset().total_seconds()
                               + float(given["advance_seconds"]))
                    self.clock.set_offset(seconds)
            except (ValueError, KeyError, TypeError) as problem:
                return {"statusCode": 400, "headers": {"Content-Type": "application/json"},
                        "body": json.dumps({"errors": [{
                            "code": "invalid_field", "title": "Invalid input",
                            "details": f'send {{"advance_seconds": N}} or '
                                       f'{{"offset_seconds": N}} ({problem})'}]})}
            if path == "/_local/tick":
                body["ran"] = {name: self._invoker(name, arn)(wait=True)
                               for name, (_, arn) in self._schedules().items()}
        body |= {"now": self.clock().isoformat(),
                 "offset_seconds": self.clock.offset().total_seconds()}
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"},
                "body": json.dumps(body, default=str)}

    def _executions(self) -> list[dict[str, Any]]:
        import boto3

        assert self.stack is not None
        client = boto3.client("stepfunctions")
        found = []
        for arn in self.stack.state_machine_arns.values():
            for run in client.list_executions(stateMachineArn=arn)["executions"]:
                found.append({"name": run["name"], "status": run["status"],
                              "state_machine": arn.rsplit(":", 1)[-1]})
        return found
