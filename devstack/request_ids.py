"""Request ids for the embedded AWS without a system call each.

`uuid.uuid4()` reads the kernel's random source (a `getrandom` call): about 0.1 ms on this
VM, and a message needed ~10 of them (a Lambda request id, the gateway's, botocore's
idempotency token of every transaction and its retry bookkeeping per request): ~1.3 ms of a
Telegram update's 21 ms. Ids of requests need to be unique, not secret, so the embedded
process draws them from a PRNG seeded once from the kernel. Never used for keys or tokens."""

from __future__ import annotations

import os
import random
import types
import uuid

_random = random.Random(os.urandom(32))  # getrandbits is atomic under the GIL


def uuid4() -> uuid.UUID:
    return uuid.UUID(int=_random.getrandbits(128), version=4)


def request_id() -> str:
    return str(uuid4())


# Stands in for the `uuid` module where botocore makes its per-request ids.
UUID_MODULE = types.SimpleNamespace(uuid4=uuid4, UUID=uuid.UUID)
