"""The SSRF guard on channels from the attacker's side: a forged or hostile update whose media
URL points inside our network is stored without the file, and a channel whose provider API
name turns private is not called. The fake providers on 127.0.0.1 are reached through the
helpdesk's allow-list (tests/conftest.py: FAKES_ALLOWED), as on the local stack."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json

import pytest

from helpdesk.channels.model import ChannelCreate
from helpdesk.channels.outbound import ChannelOutbound
from helpdesk.inputs import MessageCreate
from helpdesk.store.blobs import MemoryBlobs
from tests.channels.test_channel_flow import admin, payload, post_webhook, tickets
from tests.fakes.providers import FakeProviders
from tests.webhooks_out.conftest import FakeDns
from webhooks_in import handler as webhooks

VIBER_TOKEN = "viber-auth-token-ssrf"


@pytest.fixture
def viber(helpdesk, fake_providers):
    channel, _ = helpdesk.channels.create(admin(helpdesk), ChannelCreate.model_validate({
        "type": "viber", "name": "Viber", "secrets": {"token": VIBER_TOKEN},
        "options": {"api_base_url": fake_providers.url}}))
    webhooks.helpdesk.use(helpdesk)
    return channel


def picture_from_customer(channel, media_url: str) -> None:
    """A signed Viber picture message (the signature proves nothing about the URL in it)."""
    update = copy.deepcopy(payload("viber_picture"))
    update["message"]["media"] = media_url
    raw = json.dumps(update).encode()
    digest = hmac.new(VIBER_TOKEN.encode(), raw, hashlib.sha256).hexdigest()
    assert post_webhook(channel, raw, {"X-Viber-Content-Signature": digest})["statusCode"] == 200


def fetched_post(helpdesk, blobs: MemoryBlobs):
    (ticket,) = tickets(helpdesk)
    (post,) = helpdesk.tickets.messages(admin(helpdesk), ticket.id, "post")
    assert post.media and not post.files  # stored with its reference, not fetched yet
    files = ChannelOutbound(helpdesk, blobs).fetch_media(ticket.id, post.id)  # no exception
    (post,) = helpdesk.tickets.messages(admin(helpdesk), ticket.id, "post")
    return files, post


@pytest.mark.parametrize(("media_url", "why"), [
    ("http://169.254.169.254/latest/meta-data/iam/security-credentials/",
     "169.254.169.254 is a link-local (cloud metadata) address"),
    ("http://10.0.0.1/admin.png", "10.0.0.1 is a private address"),
    ("http://[fd00:ec2::254]/latest/", "fd00:ec2::254 is a unique-local (cloud metadata) address"),
])
def test_media_at_a_private_address_is_not_fetched_and_the_post_says_why(
        helpdesk, viber, media_url: str, why: str):
    picture_from_customer(viber, media_url)
    blobs = MemoryBlobs()

    files, post = fetched_post(helpdesk, blobs)

    assert files == [] and post.files == [] and post.media == []
    assert post.text == (f"screenshot\n[photo not available: viber: refused to connect: {why}; "
                         "only public addresses are reached]")


def test_the_fakes_own_address_under_another_spelling_is_not_fetched(
        helpdesk, viber, fake_providers: FakeProviders):
    """The allow-list admits 127.0.0.1 as written only: `0x7f000001` reaches the same fake."""
    url = fake_providers.add_file("/internal.png", b"\x89PNG internal", "image/png")
    picture_from_customer(viber, url.replace("127.0.0.1", "0x7f000001"))

    files, post = fetched_post(helpdesk, MemoryBlobs())

    assert files == [] and "0x7f000001 resolves to 127.0.0.1, which is a loopback" in post.text
    assert fake_providers.requests_to("/internal.png") == []


def test_a_media_name_that_resolves_to_a_private_address_at_fetch_time_is_refused(
        helpdesk, viber, fake_providers: FakeProviders, fake_dns: FakeDns):
    url = fake_providers.add_file("/internal.png", b"\x89PNG internal", "image/png")
    fake_dns.answer("dl-media.example.com", ["127.0.0.1"])
    picture_from_customer(viber, url.replace("127.0.0.1", "dl-media.example.com"))

    files, post = fetched_post(helpdesk, MemoryBlobs())

    assert files == []
    assert "dl-media.example.com resolves to 127.0.0.1, which is a loopback address" in post.text
    assert fake_providers.requests_to("/internal.png") == []


def test_media_on_the_allowed_fake_is_still_fetched(helpdesk, viber,
                                                   fake_providers: FakeProviders):
    url = fake_providers.add_file("/photo.png", b"\x89PNG fake", "image/png")
    picture_from_customer(viber, url)
    blobs = MemoryBlobs()

    (stored,), post = fetched_post(helpdesk, blobs)

    assert blobs.get(stored.key) == b"\x89PNG fake" and post.text == "screenshot"


def test_a_provider_api_whose_name_turns_private_fails_the_delivery_with_the_reason(
        helpdesk, fake_providers: FakeProviders, fake_dns: FakeDns):
    # Public when the admin saved it; a private answer when the reply is sent (rebinding).
    fake_dns.answer("viber-proxy.example.com", ["93.184.215.14"], ["10.0.0.7"])
    channel, _ = helpdesk.channels.create(admin(helpdesk), ChannelCreate.model_validate({
        "type": "viber", "name": "Viber", "secrets": {"token": VIBER_TOKEN},
        "options": {"api_base_url": "https://viber-proxy.example.com"}}))
    webhooks.helpdesk.use(helpdesk)
    raw = json.dumps(payload("viber_text")).encode()
    digest = hmac.new(VIBER_TOKEN.encode(), raw, hashlib.sha256).hexdigest()
    assert post_webhook(channel, raw, {"X-Viber-Content-Signature": digest})["statusCode"] == 200
    (ticket,) = tickets(helpdesk)
    post = helpdesk.tickets.add_message(admin(helpdesk), ticket.id, "post",
                                        MessageCreate(text="We are on it"))

    delivery = ChannelOutbound(helpdesk, MemoryBlobs()).deliver(ticket.id, post.id)

    assert delivery.status == "failed"
    assert delivery.reason == ("viber: refused to connect: viber-proxy.example.com resolves to "
                               "10.0.0.7, which is a private address; only public addresses "
                               "are reached")
    assert fake_providers.requests == []
