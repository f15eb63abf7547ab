"""`make run` as a child process on free ports: for the end-to-end tests and the benchmarks,
which drive it over real HTTP and SMTP like a user would."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
KEPT_LINES = 10_000  # of the stack's output, for a failing test's message
STOP_SECONDS = 10  # a stop signal ends `make run` in under 5 s; kill it after this


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class StackProcess:
    process: subprocess.Popen[str]
    ready: dict[str, Any]  # the `{"event": "ready", ...}` line: api_url, smtp_port, outbox...
    # The last KEPT_LINES lines the stack printed (its log), kept current by a reader thread.
    output: deque[str] = field(default_factory=lambda: deque(maxlen=KEPT_LINES))
    _reader: threading.Thread | None = None

    @property
    def base(self) -> str:
        return str(self.ready["api_url"]).removesuffix("/api/v2")

    @property
    def ports(self) -> dict[str, int]:
        """Every port the stack listens on: the API, SMTP and the embedded AWS endpoint."""
        return {"api": _port_of(self.ready["api_url"]), "smtp": int(self.ready["smtp_port"]),
                "aws": _port_of(self.ready["aws_endpoint"])}

    def stop(self) -> None:
        """As `make run` is meant to be stopped (SIGTERM: ports freed, the clock file gone);
        killed if that took too long."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        if self._reader is not None:
            self._reader.join(timeout=10)  # ends at EOF, once the process is gone


def start_stack(admin: tuple[str, str], *extra_args: str, timeout: float = 120,
                env: dict[str, str] | None = None, sigint_ignored: bool = False,
                new_session: bool = False) -> StackProcess:
    """Starts `python -m devstack` (stdin: /dev/null, as in CI) and waits for its ready line
    (raises with its output if it never comes).

    `sigint_ignored`: as a shell without job control starts `cmd &` (SIGINT set to SIG_IGN
    before exec, which the child inherits). `new_session`: as `setsid cmd` starts it (its own
    session and process group, no controlling terminal)."""
    environment = {**os.environ, "ADMIN_EMAIL": admin[0], "ADMIN_API_KEY": admin[1],
                   "PYTHONUNBUFFERED": "1", **(env or {})}
    process = subprocess.Popen(
        [sys.executable, "-m", "devstack", "--port", str(free_port()), "--quiet",
         "--smtp-port", "0", *extra_args],
        cwd=ROOT, env=environment, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=new_session,
        preexec_fn=_ignore_sigint if sigint_ignored else None,
    )
    output: deque[str] = deque(maxlen=KEPT_LINES)
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        output.append(line)
        if line.startswith('{"event": "ready"'):
            # Keep reading what the stack prints. Left unread, the pipe fills up (64 KiB: the
            # handlers log about 1 KiB per webhook) and the next log write blocks the thread
            # serving a request while it holds the log handler's lock, which every later
            # request then waits for: each one hangs until the gateway's 29 s timeout (504).
            reader = threading.Thread(target=_keep_reading, args=(process.stdout, output),
                                      name="stack-output", daemon=True)
            reader.start()
            return StackProcess(process, json.loads(line), output, reader)
    process.kill()
    raise RuntimeError("the stack did not come up:\n" + "".join(output))


def _keep_reading(stream: IO[str], output: deque[str]) -> None:
    for line in stream:
        output.append(line)


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _port_of(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None, url
    return port
