"""`make run`: the whole helpdesk on one machine, on an embedded AWS.

Starts moto in server mode, creates the stack from infra/template.yaml in it, bootstraps
the administrator, serves /api/v2 and /webhooks on 127.0.0.1 like API Gateway, and plays
EventBridge for scheduled functions.

SIGINT (Ctrl-C) or SIGTERM, also during startup, stops it within STOP_SECONDS however it was
started (foreground, `cmd &` from a script, setsid, CI without stdin), freeing every port it
opened; the exit code is 0, as for any stop that was asked for. A second signal, or a part
that hangs in its shutdown, ends the process at once (still 0: nothing is left running)."""

from __future__ import annotations

import argparse
import atexit
import contextlib
import gc
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from devstack.local_stack import LocalStack

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
    started = time.monotonic()
    stopping = _stop_on_signals()
    stack: LocalStack | None = None
    try:
        _prepare_process()
        from devstack import aws_calls
        from devstack.local_stack import LocalStack

        aws_calls.install()
        stack = LocalStack(port=args.port, aws_port=args.aws_port, quiet=args.quiet,
                           smtp_port=args.smtp_port)
        stack.start()
        agents = stack.seed_demo() if args.seed_demo else []
        _settle_garbage_collector()
        _say(json.dumps({"event": "ready", "api_url": f"{stack.url}/api/v2",
                         "admin_email": stack.admin_email,
                         "admin_api_key": stack.admin_api_key,
                         "aws_endpoint": stack.aws_endpoint, "smtp_port": stack.smtp_port,
                         "outbox": str(stack.outbox.folder)}))
        _say(f"""
  Helpdesk is up in {time.monotonic() - started:.1f} s
  API           {stack.url}/api/v2
  Webhooks      {stack.url}/webhooks/{{type}}/{{channel_id}}
  Admin         {stack.admin_email}
  API key       {stack.admin_api_key}
  Mail in       smtp://127.0.0.1:{stack.smtp_port}  (to {stack.mailboxes})
  Mail out      {stack.outbox.folder}  and  {stack.url}/_local/outbox
  Embedded AWS  {stack.aws_endpoint}  (table {stack.table_name})
  Try           curl -u {stack.admin_email}:{stack.admin_api_key} {stack.url}/api/v2/statuses/
""")
        for agent in agents:
            _say(f"  Demo agent    {agent.email} ({agent.department})  key {agent.api_key}")
        while not stopping.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass  # how the signal handler cuts the wait, or a startup, short
    finally:
        # Also when startup failed: parts already started must not keep the process alive.
        stopping.set()  # from here on a signal exits at once instead of interrupting stop()
        _start_watchdog()
        _say("stopping...")
        if stack is not None:
            stack.stop()
    return 0


# Python's cyclic garbage collector scans every container object it tracks; a full pass over
# the started stack (botocore's service models, moto's backends, the handlers' modules) took
# ~0.3-0.8 s and ran every few seconds under load: a quarter of the CPU per message with 8
# concurrent senders (gc.callbacks timings, docs/performance.md). What exists once the stack
# is up lives as long as the process: frozen, it is never scanned again. The young
# generation is collected less often (every 10,000 allocations instead of 700): requests
# allocate many short-lived objects that reference counting frees anyway.
GC_THRESHOLDS = (10_000, 20, 20)


def _settle_garbage_collector() -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


# The whole stop, from the signal to the exit. LocalStack.stop takes about a second; a part
# that hangs in its shutdown (a request or workflow thread still inside moto) must not keep
# the terminal or a CI job waiting.
STOP_SECONDS = 4.0
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)

_watchdog: threading.Timer | None = None  # only the main thread (and its handlers) set it


def _stop_on_signals() -> threading.Event:
    """Sets the returned event on SIGINT/SIGTERM and interrupts the main thread (a
    KeyboardInterrupt, so a startup in progress is cut short too); a second signal exits at
    once. SIGINT is set explicitly: a shell starting `cmd &` without job control starts it
    with SIGINT ignored, and Python keeps an inherited SIG_IGN (Ctrl-C or `kill -INT` would
    do nothing)."""
    stopping = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        if stopping.is_set():
            _exit_now(f"{signal.Signals(signum).name} again")
        stopping.set()
        _start_watchdog()
        raise KeyboardInterrupt

    for stop_signal in STOP_SIGNALS:
        signal.signal(stop_signal, on_signal)
    # A closed terminal (SIGHUP) stops it cleanly too, unless nohup asked to ignore it.
    if signal.getsignal(signal.SIGHUP) is signal.SIG_DFL:
        signal.signal(signal.SIGHUP, on_signal)
    return stopping


def _start_watchdog() -> None:
    """Ends the process STOP_SECONDS from the first call, whatever is still running then."""
    global _watchdog
    # No lock: a signal handler runs on the main thread, so it would deadlock on one held
    # by the code it interrupted.
    if _watchdog is None:
        _watchdog = threading.Timer(STOP_SECONDS, _exit_now,
                                    args=(f"stopping took over {STOP_SECONDS:.0f} s",))
        _watchdog.daemon = True
        _watchdog.start()


def _say(text: str) -> None:
    # A reader that went away (a closed pipe), or a signal handler printing while the main
    # thread is mid-print (RuntimeError: reentrant call), must not turn the stop into a
    # traceback.
    with contextlib.suppress(OSError, ValueError, RuntimeError):
        print(text, flush=True)


def _exit_now(reason: str) -> None:
    # Said from another thread, not waited for long: stdout may be a pipe nobody reads.
    saying = threading.Thread(target=_say, args=(f"{reason}; exiting now",), daemon=True)
    saying.start()
    saying.join(0.2)
    os._exit(0)


def _exit_fast(code: int) -> None:
    """Exits once everything is stopped, skipping the interpreter's own teardown: collecting
    moto's state and unloading ~2,000 modules takes 2 s, more than the stop itself, and
    releases nothing the OS would not. atexit callbacks (log handlers, coverage) still run."""
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    _exit_fast(main())
