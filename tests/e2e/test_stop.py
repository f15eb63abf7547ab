"""`make run` stops within 5 s of SIGINT or SIGTERM however it was started, exits 0 and
leaves none of its ports open (issue 12)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from devstack.process import ROOT, free_port, start_stack

ADMIN = ("stop-admin@example.com", "stop-admin-key-0123456789")
STOP_WITHIN = 5.0


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
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
def test_a_stop_signal_ends_it_within_5_s_and_frees_every_port(
        how: str, stop_signal: signal.Signals) -> None:
    stack = start_stack(ADMIN, sigint_ignored=how in ("background", "setsid"),
                        new_session=how == "setsid")
    try:
        ports = stack.ports
        assert all(_accepts(port) for port in ports.values()), ports
        asked = time.monotonic()
        stack.process.send_signal(stop_signal)
        code = stack.process.wait(timeout=30)
        took = time.monotonic() - asked
    finally:
        stack.stop()
    output = "".join(stack.output)
    assert took < STOP_WITHIN, f"stopping took {took:.1f} s:\n{output[-3000:]}"
    assert code == 0, output[-3000:]
    assert "exiting now" not in output  # a clean stop, not the watchdog's
    assert not [name for name, port in ports.items() if _accepts(port)], ports
    if how == "setsid":
        # Its own process group: nothing in it may outlive it.
        with pytest.raises(ProcessLookupError):
            os.killpg(stack.process.pid, 0)


def test_a_signal_during_startup_stops_it_too() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "devstack", "--port", str(free_port()), "--smtp-port", "0",
         "--quiet"], cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, env={**os.environ, "ADMIN_EMAIL": ADMIN[0],
                                                  "ADMIN_API_KEY": ADMIN[1]})
    try:
        time.sleep(3)  # mid-startup on any machine: imports, moto, the template's resources
        asked = time.monotonic()
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
        took = time.monotonic() - asked
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert took < STOP_WITHIN, output[-3000:]
    assert process.returncode == 0, output[-3000:]
