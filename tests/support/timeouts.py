"""Time limits in tests are hang guards, never speed targets.

A test checks behaviour (an answer came, a thread ended, a port is free); a time limit only
stops a broken run from hanging the suite. So every limit here is generous, many times what a
loaded CI machine needs, and a passing test never waits for it: waits return as soon as the
awaited thing happens.
"""

from __future__ import annotations

# Connect and read timeout of a client talking to a fake or a server on 127.0.0.1 when the
# timeout is not what the test is about (the fakes answer in milliseconds).
NETWORK_TIMEOUT = 10.0

# How long a test waits for something that normally happens at once (a thread to stop, a
# workflow to move on after its clock did, ...) before declaring it hung.
HANG_GUARD = 30.0
