"""The embedded AWS with the stack from infra/template.yaml, started once per test module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devstack.aws import EmbeddedAws, StackInfo, deploy_stack


@pytest.fixture(scope="module")
def aws() -> Iterator[EmbeddedAws]:
    with EmbeddedAws() as embedded:
        yield embedded


@pytest.fixture(scope="module")
def stack(aws: EmbeddedAws) -> StackInfo:
    return deploy_stack(aws, stack_name="helpdesk-test")
