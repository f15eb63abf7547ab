"""Deliveries to a real receiver on 127.0.0.1: signed, pinned, one attempt, no redirects."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
import urllib3

from helpdesk.delivery import PermanentFailure, TemporaryFailure
from helpdesk.webhooks_out import (
    AllowList,
    BlockedDestination,
    WebhookSender,
    WebhookTarget,
    deliver_webhook,
)
from helpdesk.webhooks_out.breaker import closed
from tests.support.timeouts import NETWORK_TIMEOUT
from tests.webhooks_out.conftest import (
    SECRET,
    Certificates,
    FakeDns,
    Receiver,
    Reply,
    allow_only,
)

EVENT = {"type": "post_added", "ticket": {"id": 42, "title": "Принтер горит"}, "post_id": 7}
pytestmark = pytest.mark.usefixtures("allow_localhost")
# The read timeout of the timeout test only: the receiver holds its answer until the test is
# over, so it expires for certain; short so that the test stays quick.
TIMEOUT_UNDER_TEST = 0.2


def deliver(url: str, now: datetime, *, sender: WebhookSender | None = None,
            delivery_id: str = "d-1") -> object:
    return deliver_webhook(WebhookTarget(url, SECRET), delivery_id, "post_added", EVENT, now,
                           sender=sender)


def test_delivers_signed_json_with_the_agreed_headers(receiver: Receiver, now: datetime):
    result = deliver(receiver.url, now)
    assert result.delivered and result.http_status == 200 and result.failure is None
    (request,) = receiver.requests
    assert request.signature_ok
    assert request.path == "/hook"
    assert json.loads(request.body) == EVENT
    assert "Принтер".encode() in request.body  # UTF-8, not \\u escapes
    headers = request.headers
    assert headers["content-type"] == "application/json"
    assert headers["x-helpdesk-timestamp"] == str(int(now.timestamp()))
    assert headers["x-helpdesk-signature"].startswith("sha256=")
    assert headers["x-helpdesk-delivery"] == "d-1"
    assert headers["x-helpdesk-event"] == "post_added"
    assert headers["host"] == f"127.0.0.1:{receiver.port}"


def test_a_wrong_secret_fails_the_receivers_check(receiver: Receiver, now: datetime):
    deliver_webhook(WebhookTarget(receiver.url, "another-secret-entirely"), "d-1",
                    "post_added", EVENT, now)
    assert not receiver.requests[0].signature_ok


def test_500_and_429_are_temporary_then_the_retry_succeeds(receiver: Receiver, now: datetime):
    receiver.replies = [Reply(500, body=b"database down"), Reply(429)]
    first = deliver(receiver.url, now)
    assert isinstance(first.failure, TemporaryFailure)
    assert "HTTP 500: database down" in str(first.failure)
    second = deliver(receiver.url, now.replace(second=30))
    assert isinstance(second.failure, TemporaryFailure) and "HTTP 429" in str(second.failure)
    third = deliver(receiver.url, now.replace(minute=1))
    assert third.delivered
    assert [r.headers["x-helpdesk-delivery"] for r in receiver.requests] == ["d-1"] * 3
    stamps = [r.headers["x-helpdesk-timestamp"] for r in receiver.requests]
    assert len(set(stamps)) == 3  # each attempt signed afresh
    assert all(r.signature_ok for r in receiver.requests)


@pytest.mark.parametrize("status", [400, 401, 404, 410, 422])
def test_other_4xx_are_permanent(receiver: Receiver, now: datetime, status: int):
    receiver.replies = [Reply(status, body=b'{"error": "no such hook"}')]
    result = deliver(receiver.url, now)
    assert isinstance(result.failure, PermanentFailure)
    assert f"HTTP {status}" in str(result.failure) and "no such hook" in str(result.failure)
    assert result.breaker == closed()  # it answered: not an outage


def test_redirect_is_a_failure_and_is_not_followed(receiver: Receiver, now: datetime):
    elsewhere = f"http://127.0.0.1:{receiver.port}/elsewhere"
    receiver.replies = [Reply(302, {"Location": elsewhere})]
    result = deliver(receiver.url, now)
    assert isinstance(result.failure, PermanentFailure)
    assert "redirect" in str(result.failure) and elsewhere in str(result.failure)
    assert [r.path for r in receiver.requests] == ["/hook"]


def test_slow_receiver_times_out_as_temporary(receiver: Receiver, now: datetime):
    receiver.replies = [Reply(held=True)]  # answers only once the test is over
    sender = WebhookSender(timeout=urllib3.Timeout(connect=NETWORK_TIMEOUT,
                                                   read=TIMEOUT_UNDER_TEST))
    result = deliver(receiver.url, now, sender=sender)
    assert isinstance(result.failure, TemporaryFailure)
    assert "ReadTimeoutError" in str(result.failure)


def test_refused_connection_is_temporary(now: datetime):
    result = deliver("http://127.0.0.1:9/hook", now)  # discard port: nothing listens
    assert isinstance(result.failure, TemporaryFailure)
    assert "cannot connect to 127.0.0.1" in str(result.failure)
    assert result.breaker["failures"] == 1


def test_blocked_destination_is_permanent_and_never_contacted(
        monkeypatch: pytest.MonkeyPatch, receiver: Receiver, now: datetime):
    allow_only(monkeypatch, "")
    result = deliver(receiver.url, now)
    assert isinstance(result.failure, BlockedDestination)
    assert "loopback" in str(result.failure)
    assert receiver.requests == [] and result.breaker == closed()


def test_connects_to_the_verified_address_only_dns_rebinding_cannot_switch_it(
        receiver: Receiver, fake_dns: FakeDns, now: datetime):
    # The first answer passes the check; a rebinding server would answer differently the
    # next time. The name must be looked up once and the checked address connected to.
    fake_dns.answer("hooks.example.test", ["127.0.0.1"], ["10.0.0.1"])
    sender = WebhookSender(allow=AllowList.parse("127.0.0.1/32"))
    result = deliver(f"http://hooks.example.test:{receiver.port}/hook", now, sender=sender)
    assert result.delivered
    assert fake_dns.asked.count("hooks.example.test") == 1
    assert receiver.requests[0].headers["host"] == f"hooks.example.test:{receiver.port}"


def test_falls_through_unreachable_verified_addresses(receiver: Receiver, fake_dns: FakeDns,
                                                      now: datetime):
    fake_dns.answer("multi.example.test", ["127.0.0.2", "127.0.0.1"])  # .2: nobody listens
    result = deliver(f"http://multi.example.test:{receiver.port}/hook", now)
    assert result.delivered and len(receiver.requests) == 1


def test_ipv6_literal_destination(monkeypatch: pytest.MonkeyPatch, now: datetime):
    try:
        receiver = Receiver(host="::1")
    except OSError:
        pytest.skip("no IPv6 loopback here")
    try:
        allow_only(monkeypatch, "::1")
        assert deliver(f"http://[::1]:{receiver.port}/hook", now).delivered
        assert receiver.requests[0].headers["host"] == f"[::1]:{receiver.port}"
    finally:
        receiver.close()


def test_an_event_that_is_not_json_is_permanent(receiver: Receiver, now: datetime):
    result = deliver_webhook(WebhookTarget(receiver.url, SECRET), "d-1", "created",
                             {"score": float("nan")}, now)
    assert isinstance(result.failure, PermanentFailure) and receiver.requests == []


def test_credentials_in_the_url_become_basic_auth(receiver: Receiver, now: datetime):
    deliver(f"http://bot:p%40ss@127.0.0.1:{receiver.port}/hook", now)
    assert receiver.requests[0].headers["authorization"] == "Basic Ym90OnBAc3M="


def test_https_pins_the_address_and_keeps_sni_and_certificate_name(
        certificates: Certificates, fake_dns: FakeDns, now: datetime):
    receiver = Receiver(context=certificates.server_context("hooks.example.test"))
    try:
        fake_dns.answer("hooks.example.test", ["127.0.0.1"])
        fake_dns.answer("wrong.example.test", ["127.0.0.1"])
        sender = WebhookSender(ca_certs=str(certificates.ca))
        url = f"https://hooks.example.test:{receiver.port}/hook"
        result = deliver(url, now, sender=sender)
        assert result.delivered, result.failure
        assert receiver.server_names == ["hooks.example.test"]
        assert receiver.requests[0].signature_ok
        # The certificate is checked against the URL's name, not the pinned address.
        wrong = deliver(f"https://wrong.example.test:{receiver.port}/hook", now, sender=sender)
        assert isinstance(wrong.failure, TemporaryFailure)
        assert "TLS" in str(wrong.failure)
        assert len(receiver.requests) == 1
    finally:
        receiver.close()


@pytest.mark.parametrize(("delivery_id", "event_type"), [("", "created"), ("d 1", "created"),
                                                         ("d-1", ""), ("d-1", "a\r\nX: y")])
def test_header_values_are_checked(receiver: Receiver, now: datetime, delivery_id: str,
                                   event_type: str):
    result = deliver_webhook(WebhookTarget(receiver.url, SECRET), delivery_id, event_type,
                             EVENT, now)
    assert isinstance(result.failure, PermanentFailure) and receiver.requests == []


@pytest.mark.parametrize("delivery_id", ["", "id with spaces", "d\r\nX-Injected: 1", "x" * 129])
def test_a_delivery_id_that_would_mangle_headers_is_refused_before_sending(
        receiver: Receiver, now: datetime, delivery_id: str):
    result = deliver(receiver.url, now, delivery_id=delivery_id)
    assert not result.delivered and isinstance(result.failure, PermanentFailure)
    assert "delivery id" in str(result.failure) and receiver.requests == []


def test_the_breaker_of_a_subscription_deleted_meanwhile_is_not_recreated():
    from helpdesk.webhooks_out.targets import MemoryWebhookTargets

    targets = MemoryWebhookTargets()
    targets.save_breaker(99, closed())
    assert targets.get(99) is None
