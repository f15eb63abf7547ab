"""devstack.aws_calls: how the stack names the AWS requests it counts, and how it splits CPU
time between the embedded AWS and our handlers (the figures `make bench` prints)."""

from __future__ import annotations

import time

from devstack import aws_calls


def test_requests_are_named_by_service_and_operation():
    assert aws_calls.request_name(
        "https://lambda.us-east-1.amazonaws.com/2015-03-31/functions/ingest/invocations",
        "POST", {}) == "lambda Invoke"
    assert aws_calls.request_name("https://states.us-east-1.amazonaws.com/", "POST", {
        "X-Amz-Target": b"AWSStepFunctions.StartExecution"}) == "states StartExecution"
    assert aws_calls.request_name("https://mail-bucket.s3.amazonaws.com/inbound/1", "PUT",
                                  {}) == "s3 PUT"
    assert aws_calls.request_name("https://s3.amazonaws.com/mail-bucket/inbound/1", "GET",
                                  {}) == "s3 GET"


def _burn(seconds: float) -> None:
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def test_cpu_inside_a_nested_region_counts_for_the_inner_kind_only(monkeypatch):
    monkeypatch.setattr(aws_calls, "SAMPLED_ONE_IN", 1)  # every region measured
    before = aws_calls.snapshot()["cpu_seconds"]

    def handler() -> None:  # our code, calling the embedded AWS
        _burn(0.05)
        aws_calls.spent_in("aws", lambda: _burn(0.1))

    aws_calls.spent_in("aws", lambda: aws_calls.spent_in("functions", handler))  # an invoke
    after = aws_calls.snapshot()["cpu_seconds"]
    assert 0.04 <= after["functions"] - before["functions"] < 0.09
    assert 0.1 <= after["aws"] - before["aws"] < 0.15


def test_sampled_regions_add_up_to_the_cpu_spent():
    """One outermost region in eight is measured and counted eight times: over many regions
    the total is right although most regions never read the thread's CPU clock."""
    before = aws_calls.snapshot()["cpu_seconds"]["functions"]
    for _ in range(400):
        aws_calls.spent_in("functions", lambda: _burn(0.001))
    spent = aws_calls.snapshot()["cpu_seconds"]["functions"] - before
    assert 0.2 < spent < 0.6  # 0.4 s burnt; the sample's spread is about ±13%
