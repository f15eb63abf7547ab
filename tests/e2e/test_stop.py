"""`make run` stops within 5 s of SIGINT or SIGTERM however it was started, exits 0 and
leaves none of its ports open (issue 12).

The 5 s are not timed here (a loaded machine would make that flaky): the process keeps them
itself with a watchdog that ends it STOP_SECONDS after the signal, saying so. A stop that
exits 0 without the watchdog's words therefore finished in time, however slow the machine."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from devstack.__main__ import STOP_SECONDS
from devstack.process import ROOT, free_port, start_stack
from tests.support.timeouts import HANG_GUARD, NETWORK_TIMEOUT

ADMIN = ("stop-admin@example.com", "stop-admin-key-0123456789")
PROMISED_STOP_SECONDS = 5  # issue 12
WATCHDOG_SAYS = "exiting now"  # what the watchdog prints as it ends the process


def test_the_watchdog_keeps_the_promise() -> None:
    assert 0 < STOP_SECONDS < PROMISED_STOP_SECONDS


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=NETWORK_TIMEOUT):
            return True
    except OSError:
        return False


# One start per case (each takes seconds): every way of starting gets a signal it must obey.
@pytest.mark.parametrize(("how", "stop_signal"), [
    ("foreground", signal.SIGINT),  # Ctrl-C in a terminal
    ("foreground", signal.SIGTERM),
    # `make run &` in a script: SIGINT arrives ignored, and must still stop it.
    ("background", signal.SIGINT),
    # `setsid make run &`: own session, no terminal, SIGINT ignored too.
    ("setsid", signal.SIGTERM),
], ids=lambda value: value.name if isinstance(value, signal.Signals) else value)
def test_a_stop_signal_ends_it_cleanly_in_time_and_frees_every_port(
        how: str, stop_signal: signal.Signals) -> None:
    stack = start_stack(ADMIN, sigint_ignored=how in ("background", "setsid"),
                        new_session=how == "setsid")
    try:
        ports = stack.ports
        assert ports and all(_accepts(port) for port in ports.values()), ports
        stack.process.send_signal(stop_signal)
        code = stack.process.wait(timeout=HANG_GUARD)
    finally:
        stack.stop()
    output = "".join(stack.output)
    assert code == 0, output[-3000:]
    # A clean stop, before the watchdog's STOP_SECONDS: within the promised 5 s.
    assert WATCHDOG_SAYS not in output, output[-3000:]
    assert not [name for name, port in ports.items() if _accepts(port)], ports
    if how == "setsid":
        # Its own process group: nothing in it may outlive it.
        with pytest.raises(ProcessLookupError):
            os.killpg(stack.process.pid, 0)


def _starting_parts(pid: int) -> bool:
    """`make run` has set its stop signals (SIGTERM is caught: Python alone catches only
    SIGINT) and runs a part on a thread of its own: the embedded AWS is being started, the
    template's resources are still to come. Linux: read from /proc."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        threads = len(os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return False
    (caught,) = (int(line.split()[1], 16) for line in status.splitlines()
                 if line.startswith("SigCgt:"))
    return bool(caught & 1 << (signal.SIGTERM - 1)) and threads > 1


def _eventually(check: Callable[[], bool], seconds: float = HANG_GUARD) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads /proc (Linux)")
def test_a_signal_during_startup_stops_it_too() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "devstack", "--port", str(free_port()), "--smtp-port", "0",
         "--quiet"], cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, env={**os.environ, "ADMIN_EMAIL": ADMIN[0],
                                                  "ADMIN_API_KEY": ADMIN[1]})
    try:
        # Mid-startup whatever the machine's speed: past the imports, parts already running.
        assert _eventually(lambda: _starting_parts(process.pid)), "startup never got going"
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=HANG_GUARD)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert '"event": "ready"' not in output  # it was stopped before it was up
    assert process.returncode == 0, output[-3000:]
    assert WATCHDOG_SAYS not in output, output[-3000:]  # a clean stop, in time
