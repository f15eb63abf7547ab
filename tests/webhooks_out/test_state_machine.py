"""state_machines/outbound_webhook.asl.json: valid, and retrying the way the domain expects."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ASL = Path(__file__).resolve().parents[2] / "state_machines" / "outbound_webhook.asl.json"
LAMBDA_ERRORS = {"Lambda.ServiceException", "Lambda.AWSLambdaException",
                 "Lambda.SdkClientException", "Lambda.TooManyRequestsException"}


@pytest.fixture(scope="module")
def machine() -> dict[str, Any]:
    return json.loads(ASL.read_text())


def test_statelint_is_clean():
    statelint = Path(sys.executable).parent / "statelint"
    result = subprocess.run([str(statelint), str(ASL)], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_only_the_function_arn_is_substituted():
    assert set(re.findall(r"\$\{(\w+)\}", ASL.read_text())) == {"WebhooksOutFunctionArn"}


def test_temporary_failures_are_retried_with_backoff_for_about_eight_and_a_half_hours(
        machine: dict[str, Any]):
    deliver = machine["States"][machine["StartAt"]]
    assert deliver["Parameters"] == {"FunctionName": "${WebhooksOutFunctionArn}",
                                     "Payload.$": "$"}
    temporary, service = deliver["Retry"]
    assert temporary["ErrorEquals"] == ["TemporaryFailure"]
    waits = [temporary["IntervalSeconds"] * temporary["BackoffRate"] ** n
             for n in range(temporary["MaxAttempts"])]
    assert 8 * 3600 < sum(waits) < 9 * 3600
    assert set(service["ErrorEquals"]) == LAMBDA_ERRORS
    (catch,) = deliver["Catch"]
    assert catch["ErrorEquals"] == ["States.ALL"]
    assert machine["States"][deliver["Next"]]["Type"] == "Succeed"


def test_every_failure_ends_in_a_dead_letter_then_a_failed_run(machine: dict[str, Any]):
    deliver = machine["States"][machine["StartAt"]]
    dead = machine["States"][deliver["Catch"][0]["Next"]]
    payload = dead["Parameters"]["Payload"]
    assert dead["Parameters"]["FunctionName"] == "${WebhooksOutFunctionArn}"
    assert payload["dead_letter"] is True
    assert payload["error.$"] == deliver["Catch"][0]["ResultPath"]
    assert {"subscription_id.$", "delivery_id.$", "event.$"} <= set(payload)
    assert "TemporaryFailure" not in json.dumps(dead.get("Retry", []))  # recorded once
    assert machine["States"][dead["Next"]]["Type"] == "Fail"
    assert machine["States"][dead["Catch"][0]["Next"]]["Type"] == "Fail"
