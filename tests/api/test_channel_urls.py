"""A channel's `options.api_base_url` through the API: what is plainly not public is refused
when saved (422 naming the field, nothing stored); the fake providers on 127.0.0.1 pass through
the helpdesk's allow-list (WEBHOOK_ALLOW_HOSTS on a stack)."""

from __future__ import annotations

import pytest

from tests.fakes.providers import FakeProviders

NOT_PUBLIC = ["http://169.254.169.254/", "http://10.0.0.1", "http://[::1]:8080",
              "http://0x7f000001/", "http://metadata.google.internal/", "http://2130706433/",
              "http://127.1:8080", "http://[::ffff:169.254.169.254]/", "http://printer.local/",
              "https://[7fE3C]:"]  # schema-valid, no IPv6 address: nowhere to connect


def telegram(url: str) -> dict:
    return {"type": "telegram", "name": "Support bot",
            "secrets": {"token": "123456:bot-token", "webhook_secret": "s" * 20},
            "options": {"api_base_url": url}}


@pytest.mark.parametrize("url", NOT_PUBLIC)
def test_a_channel_pointed_at_an_address_that_is_not_public_is_refused(api, url: str):
    refused = api.call("POST", "/channels/", telegram(url))

    assert refused.status == 422, refused.body
    (error,) = refused.body["errors"]
    assert error["source"]["field"] == "options.api_base_url"
    assert error["details"].startswith("options.api_base_url: ")
    assert api.call("GET", "/channels/").body["data"] == []


@pytest.mark.parametrize("url", NOT_PUBLIC)
def test_a_channel_cannot_be_moved_to_an_address_that_is_not_public(api, url: str):
    created = api.call("POST", "/channels/", telegram("https://api.telegram.org"))
    assert created.status == 200, created.body
    path = f"/channels/{created.body['data']['id']}"

    moved = api.call("PUT", path, {"name": "renamed", "options": {"api_base_url": url}})

    assert moved.status == 422
    assert moved.body["errors"][0]["source"]["field"] == "options.api_base_url"
    kept = api.call("GET", path).body["data"]
    assert (kept["name"], kept["options"]["api_base_url"]) == (
        "Support bot", "https://api.telegram.org")


def test_the_allow_listed_fake_and_public_providers_are_accepted(api, fake_providers:
                                                                 FakeProviders):
    created = api.call("POST", "/channels/", telegram(fake_providers.url))
    assert created.status == 200, created.body
    assert created.body["data"]["options"]["api_base_url"] == fake_providers.url
    path = f"/channels/{created.body['data']['id']}"
    renamed = api.call("PUT", path, {"name": "Bot", "options": {"reopen_days": 2}})
    assert renamed.status == 200  # the stored URL is not checked again by an unrelated edit
