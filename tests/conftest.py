"""Shared fixtures: a Table of either kind (memory or moto DynamoDB) and a helpdesk on it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import settings

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")

pytest_plugins = ["tests.fakes.fixtures"]  # fake_providers: real HTTP on 127.0.0.1

# Hypothesis defaults (a test's own @settings still wins). CI (CI=true) runs the same
# examples on every run and keeps no example database: a red build is repeatable and
# print_blob says how to replay a failure locally. Locally the examples vary and the default
# database in .hypothesis/ replays earlier failures first. No deadline anywhere: a
# per-example time limit fails on a busy machine, not on slow code (pytest-timeout guards
# against hangs). HYPOTHESIS_PROFILE=ci|dev chooses explicitly.
settings.register_profile("ci", derandomize=True, database=None, deadline=None,
                          print_blob=True)
settings.register_profile("dev", deadline=None)
_CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if _CI else "dev"))

ADMIN_EMAIL = "admin@example.com"
ADMIN_KEY = "admin-secret-key"


class Clock:
    """A controllable clock: tests move time instead of sleeping."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(microseconds=1)  # every reading is later, like a real clock
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def memory_table():
    from helpdesk.store.memory import MemoryTable

    return MemoryTable()


@pytest.fixture
def dynamodb_table() -> Iterator[object]:
    import boto3
    from moto import mock_aws

    from devstack import moto_patches
    from helpdesk.store.dynamo import DynamoTable
    from tests.support.template import table_create_args

    with mock_aws():
        # moto as the local stack runs it: atomic item writes and transactions under threads.
        moto_patches.install()
        try:
            client = boto3.client("dynamodb", region_name="us-east-1")
            client.create_table(**table_create_args("contract-table"))
            yield DynamoTable(client, "contract-table")
        finally:
            moto_patches.uninstall()


@pytest.fixture(params=["memory", "dynamodb"])
def table(request: pytest.FixtureRequest):
    """The contract suite runs every test on both tables so they cannot drift."""
    return request.getfixturevalue(f"{request.param}_table")


# The allow-list the tests' helpdesk carries, as the local stack's tests run it
# (WEBHOOK_ALLOW_HOSTS=127.0.0.1): fake providers and receivers listen there. Only that host
# as written; every other spelling of loopback and every private address stays refused.
FAKES_ALLOWED = "127.0.0.1"


def make_helpdesk(table, clock, per_minute: int = 10_000, block_seconds: int = 60,
                  allow: str = FAKES_ALLOWED):
    from helpdesk.service import Helpdesk, Settings
    from helpdesk.ssrf import AllowList

    desk = Helpdesk(table, Settings(rate_limit_per_minute=per_minute,
                                    rate_limit_block_seconds=block_seconds), clock,
                    webhook_allow=AllowList.parse(allow))
    desk.bootstrap(ADMIN_EMAIL, ADMIN_KEY)
    return desk


@pytest.fixture
def helpdesk(memory_table, clock):
    return make_helpdesk(memory_table, clock)
