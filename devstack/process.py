"""`make run` as a child process on free ports: for the end-to-end tests and the benchmarks,
which drive it over real HTTP and SMTP like a user would."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[1]
KEPT_LINES = 10_000  # of the stack's output, for a failing test's message


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

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)
        if self._reader is not None:
            self._reader.join(timeout=10)  # ends at EOF, once the process is gone


def start_stack(admin: tuple[str, str], *extra_args: str, timeout: float = 120,
                env: dict[str, str] | None = None) -> StackProcess:
    """Starts `python -m devstack` and waits for its ready line (raises with its output if
    it never comes)."""
    environment = {**os.environ, "ADMIN_EMAIL": admin[0], "ADMIN_API_KEY": admin[1],
                   "PYTHONUNBUFFERED": "1", **(env or {})}
    process = subprocess.Popen(
        [sys.executable, "-m", "devstack", "--port", str(free_port()), "--quiet",
         "--smtp-port", "0", *extra_args],
        cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
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
