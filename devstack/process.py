"""`make run` as a child process on free ports: for the end-to-end tests and the benchmarks,
which drive it over real HTTP and SMTP like a user would."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class StackProcess:
    process: subprocess.Popen[str]
    ready: dict[str, Any]  # the `{"event": "ready", ...}` line: api_url, smtp_port, outbox...
    output: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        return str(self.ready["api_url"]).removesuffix("/api/v2")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)


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
    output: list[str] = []
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        output.append(line)
        if line.startswith('{"event": "ready"'):
            return StackProcess(process, json.loads(line), output)
    process.kill()
    raise RuntimeError("the stack did not come up:\n" + "".join(output))
