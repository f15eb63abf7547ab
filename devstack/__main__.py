"""`make run`: the whole helpdesk on one machine, on an embedded AWS.

Starts moto in server mode, creates the stack from infra/template.yaml in it, bootstraps
the administrator, serves /api/v2 and /webhooks on 127.0.0.1 like API Gateway, and plays
EventBridge for scheduled functions. Ctrl-C (or SIGTERM) stops it cleanly."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _prepare_process() -> None:
    os.environ["TZ"] = "UTC"  # moto's Wait states compare UTC stamps with local time
    time.tzset()
    sys.path.insert(0, str(ROOT / "functions"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make run", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("HELPDESK_PORT", 8000)))
    parser.add_argument("--aws-port", type=int,
                        default=int(os.environ.get("HELPDESK_AWS_PORT", 0)),
                        help="port of the embedded AWS endpoint (0: any free port)")
    parser.add_argument("--smtp-port", type=int,
                        default=int(os.environ.get("HELPDESK_SMTP_PORT", 2525)),
                        help="local SMTP listener playing SES inbound (0: any free port)")
    parser.add_argument("--seed-demo", action="store_true",
                        help="add demo departments, agents, customers and tickets")
    parser.add_argument("--quiet", action="store_true", help="no access log")
    args = parser.parse_args(argv)
    _prepare_process()
    started = time.monotonic()

    from devstack import aws_calls
    from devstack.local_stack import LocalStack

    aws_calls.install()
    stack = LocalStack(port=args.port, aws_port=args.aws_port, quiet=args.quiet,
                       smtp_port=args.smtp_port)
    stack.start()
    agents = stack.seed_demo() if args.seed_demo else []

    print(json.dumps({"event": "ready", "api_url": f"{stack.url}/api/v2",
                      "admin_email": stack.admin_email, "admin_api_key": stack.admin_api_key,
                      "aws_endpoint": stack.aws_endpoint, "smtp_port": stack.smtp_port,
                      "outbox": str(stack.outbox.folder)}), flush=True)
    print(f"""
  Helpdesk is up in {time.monotonic() - started:.1f} s
  API           {stack.url}/api/v2
  Webhooks      {stack.url}/webhooks/{{type}}/{{channel_id}}
  Admin         {stack.admin_email}
  API key       {stack.admin_api_key}
  Mail in       smtp://127.0.0.1:{stack.smtp_port}  (to {stack.mailboxes})
  Mail out      {stack.outbox.folder}  and  {stack.url}/_local/outbox
  Embedded AWS  {stack.aws_endpoint}  (table {stack.table_name})
  Try           curl -u {stack.admin_email}:{stack.admin_api_key} {stack.url}/api/v2/statuses/
""", flush=True)
    for agent in agents:
        print(f"  Demo agent    {agent.email} ({agent.department})  key {agent.api_key}")
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    try:
        while not stopping.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    print("stopping...", flush=True)
    # Ctrl-C must stop it: if a part hangs in its shutdown (a request or workflow thread
    # still inside moto), exit anyway rather than leave the terminal waiting.
    watchdog = threading.Timer(STOP_SECONDS, _exit_now)
    watchdog.daemon = True
    watchdog.start()
    stack.stop()
    return 0


STOP_SECONDS = 10.0


def _exit_now() -> None:
    print(f"stopping took over {STOP_SECONDS:.0f} s; exiting anyway", flush=True)
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
