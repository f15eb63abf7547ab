"""The SSRF guard: public addresses only, every resolved address checked, allow-list for
local testing."""

from __future__ import annotations

import ipaddress

import pytest

from helpdesk.aws.environment import SendingSettings, settings_of
from helpdesk.aws.runtime import allow_list_from
from helpdesk.delivery import PermanentFailure, TemporaryFailure
from helpdesk.ssrf import (
    AllowList,
    BlockedDestination,
    address_class,
    check_at_the_door,
    check_destination,
)
from tests.webhooks_out.conftest import FakeDns

pytestmark = pytest.mark.usefixtures("no_allow_list")


def refusal(url: str) -> BlockedDestination:
    with pytest.raises(BlockedDestination) as caught:
        check_destination(url)
    assert isinstance(caught.value, PermanentFailure)  # never retried
    return caught.value


@pytest.mark.parametrize(("url", "kind"), [
    ("http://10.0.0.1/hook", "private"),
    ("http://172.16.5.4/hook", "private"),
    ("https://192.168.1.1/hook", "private"),
    ("http://127.0.0.1:8080/hook", "loopback"),
    ("http://169.254.169.254/latest/meta-data/", "link-local (cloud metadata)"),
    ("http://169.254.10.1/", "link-local"),
    ("http://[::1]/hook", "loopback"),
    ("http://[fe80::1]/hook", "link-local"),
    ("http://[fd12:3456::1]/hook", "unique-local"),
    ("http://[fd00:ec2::254]/", "unique-local (cloud metadata)"),
    ("http://100.64.0.1/", "carrier-grade NAT"),
    ("http://0.0.0.0/", "unspecified"),
    ("http://[::]/", "unspecified"),
    ("http://224.0.0.1/", "multicast"),
    ("http://[ff02::1]/", "multicast"),
    ("http://240.0.0.1/", "reserved"),
    ("http://255.255.255.255/", "reserved"),
    ("http://[::ffff:127.0.0.1]/", "IPv4-mapped loopback"),
    ("http://[::ffff:169.254.169.254]/", "IPv4-mapped link-local (cloud metadata)"),
    ("http://[64:ff9b::a00:1]/", "NAT64 private"),
    ("http://[2002:a00:1::1]/", "6to4 private"),
    ("http://192.0.2.10/", "special-purpose (not globally routable)"),
])
def test_non_public_addresses_are_refused_naming_the_class(url: str, kind: str):
    error = refusal(url)
    assert error.address_class == kind
    assert f"a {kind} address" in str(error)


@pytest.mark.parametrize("url", ["http://2130706433/", "http://0x7f.1/", "http://127.1/"])
def test_odd_spellings_of_loopback_are_resolved_then_refused(url: str):
    assert refusal(url).address_class == "loopback"


@pytest.mark.parametrize("address", ["10.0.0.1", "127.0.0.1", "169.254.169.254", "::1"])
def test_a_name_resolving_to_a_blocked_address_is_refused(fake_dns: FakeDns, address: str):
    fake_dns.answer("hooks.example.com", [address])
    error = refusal("https://hooks.example.com/in")
    assert f"hooks.example.com resolves to {address}" in str(error)


def test_one_private_answer_among_public_ones_is_enough(fake_dns: FakeDns):
    fake_dns.answer("mixed.example.com", ["93.184.215.14", "10.1.2.3"])
    assert refusal("https://mixed.example.com/").address_class == "private"


def test_public_destination_keeps_every_verified_address_and_the_url_parts(fake_dns: FakeDns):
    fake_dns.answer("hooks.example.com", ["2606:2800:21f:cb07:6820:80da:af6b:8b2c",
                                          "93.184.215.14", "93.184.215.14"])
    found = check_destination("HTTPS://user:pa%20ss@Hooks.Example.COM./a b/ü?x=1&y=ж#frag")
    assert found.scheme == "https" and found.host == "hooks.example.com" and found.port == 443
    assert found.addresses == ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", "93.184.215.14")
    assert found.target == "/a%20b/%C3%BC?x=1&y=%D0%B6"
    assert found.host_header == "hooks.example.com"
    assert (found.username, found.password) == ("user", "pa ss")


def test_host_header_keeps_a_non_default_port_and_brackets(fake_dns: FakeDns):
    fake_dns.answer("hooks.example.com", ["93.184.215.14"])
    assert check_destination("http://hooks.example.com:8443/").host_header == (
        "hooks.example.com:8443")
    public_v6 = check_destination("http://[2606:4700::1111]:81/")
    assert public_v6.host_header == "[2606:4700::1111]:81"


def test_international_names_are_resolved_in_their_ascii_form(fake_dns: FakeDns):
    fake_dns.answer("xn--e1afmkfd.xn--p1ai", ["93.184.215.14"])
    assert check_destination("https://пример.рф/hook").host == "xn--e1afmkfd.xn--p1ai"


@pytest.mark.parametrize("url", ["ftp://example.com/", "file:///etc/passwd", "gopher://x/",
                                 "http:///nohost", "http://example.com:99999/", "//example.com/"])
def test_only_http_urls_with_a_host_and_port_are_accepted(url: str):
    refusal(url)


def test_a_name_that_does_not_resolve_is_temporary():
    def nxdomain(host: str, port: int) -> list[str]:
        raise OSError(-2, "Name or service not known")

    with pytest.raises(TemporaryFailure, match=r"cannot resolve nowhere\.example"):
        check_destination("https://nowhere.example/", resolver=nxdomain)


def test_allow_list_admits_hosts_ports_and_networks(monkeypatch: pytest.MonkeyPatch,
                                                    fake_dns: FakeDns):
    allow = AllowList.parse(" localhost:8080, receiver.test ,10.9.0.0/16,::1 ,")
    assert allow.hosts == {("localhost", 8080), ("receiver.test", None), ("::1", None)}
    assert [str(n) for n in allow.networks] == ["10.9.0.0/16"]
    fake_dns.answer("localhost", ["127.0.0.1"])
    fake_dns.answer("receiver.test", ["10.0.0.5"])
    assert check_destination("http://localhost:8080/", allow=allow).addresses == ("127.0.0.1",)
    with pytest.raises(BlockedDestination):
        check_destination("http://localhost:8081/", allow=allow)  # another port
    assert check_destination("http://receiver.test:1/", allow=allow).addresses == ("10.0.0.5",)
    assert check_destination("http://10.9.3.4/", allow=allow).addresses == ("10.9.3.4",)
    with pytest.raises(BlockedDestination):
        check_destination("http://10.8.3.4/", allow=allow)
    assert check_destination("http://[::1]:9/", allow=allow).host == "::1"

    # On a stack the list comes from the function's settings (WEBHOOK_ALLOW_HOSTS).
    monkeypatch.setenv("WEBHOOK_ALLOW_HOSTS", "127.0.0.1")
    from_settings = allow_list_from(settings_of(SendingSettings))
    assert check_destination("http://127.0.0.1:5000/",
                             allow=from_settings).addresses == ("127.0.0.1",)
    with pytest.raises(ValueError, match="bad network"):
        AllowList.parse("host/with/path")


def test_an_allowed_address_admits_that_address_only_not_names_resolving_to_it(
        fake_dns: FakeDns):
    """An entry `127.0.0.1` let every name resolving there through (`localtest.me`)."""
    allow = AllowList.parse("127.0.0.1")
    fake_dns.answer("localtest.me", ["127.0.0.1"])
    assert check_destination("http://127.0.0.1:5000/", allow=allow).host == "127.0.0.1"
    with pytest.raises(BlockedDestination, match="loopback"):
        check_destination("http://localtest.me:5000/", allow=allow)
    ranged = AllowList.parse("127.0.0.0/8")  # a range only when written as one
    assert check_destination("http://localtest.me/", allow=ranged).addresses == ("127.0.0.1",)


def test_address_classes_of_public_addresses_are_none():
    for text in ("8.8.8.8", "93.184.215.14", "2606:4700::1111", "::ffff:8.8.8.8",
                 "64:ff9b::808:808"):
        assert address_class(ipaddress.ip_address(text)) is None, text


# --- the door: what an admin saving a subscription is refused -------------------------------
def door_refusal(url: str, **kwargs: object) -> BlockedDestination:
    with pytest.raises(BlockedDestination) as caught:
        check_at_the_door(url, **kwargs)  # type: ignore[arg-type]
    return caught.value


def test_the_door_refuses_names_that_only_exist_inside_a_network(fake_dns: FakeDns):
    for url in ("http://metadata.google.internal/", "http://printer.local/", "http://intranet/",
                "https://build.corp:8443/hook"):
        assert door_refusal(url).address_class == "internal name", url
    assert fake_dns.asked == []  # refused by the name alone, nothing looked up


def test_the_door_refuses_a_name_resolving_to_a_private_address_naming_both(fake_dns: FakeDns):
    fake_dns.answer("rebind.example.com", ["93.184.215.14", "192.168.0.7"])
    error = door_refusal("https://rebind.example.com/hook")
    assert error.address_class == "private"
    assert "rebind.example.com means 192.168.0.7" in str(error)


def test_the_door_lets_a_name_that_does_not_resolve_now_through_for_the_send_to_check(
        fake_dns: FakeDns):
    def nxdomain(host: str, port: int) -> list[str]:
        raise OSError(-2, "Name or service not known")

    check_at_the_door("https://not-yet.example.com/", resolver=nxdomain)  # no exception
    check_at_the_door("https://empty.example.com/", resolver=lambda host, port: [])
    fake_dns.answer("hooks.example.com", ["93.184.215.14"])
    check_at_the_door("https://hooks.example.com/in")


def test_the_door_refuses_what_is_not_a_web_url_or_a_valid_name():
    assert "http or https" in str(door_refusal("gopher://hooks.example.com/"))
    assert "no host" in str(door_refusal("http:///path"))
    assert "bad URL" in str(door_refusal("http://hooks.example.com:70000/"))
    assert "not a valid name" in str(door_refusal("http://" + "a" * 64 + ".example.com/"))
    odd = door_refusal("http://odd.example.com/", resolver=lambda host, port: ["not-an-ip"])
    assert "resolved to 'not-an-ip'" in str(odd)


def test_the_door_admits_the_allow_list_exactly(fake_dns: FakeDns):
    allow = AllowList.parse("localhost:8080,127.0.0.1,10.9.0.0/16")
    check_at_the_door("http://localhost:8080/", allow=allow)
    check_at_the_door("http://127.0.0.1:5000/", allow=allow)
    check_at_the_door("http://10.9.1.1/", allow=allow)
    assert door_refusal("http://10.8.1.1/", allow=allow).address_class == "private"
    fake_dns.answer("localtest.me", ["127.0.0.1"])
    assert door_refusal("http://localtest.me/", allow=allow).address_class == "loopback"


@pytest.mark.parametrize(("text", "complaint"), [
    ("10.0.0.0/33", "bad network"), ("hooks.example.com:http", "bad entry"),
    ("user@hooks.example.com", "bad entry"), ("hooks.example.com:80x", "bad entry")])
def test_a_bad_allow_list_entry_is_named(text: str, complaint: str):
    with pytest.raises(ValueError, match=complaint):
        AllowList.parse(text)
