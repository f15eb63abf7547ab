"""Where we connect on someone else's say: public addresses only.

Admins type webhook URLs, Slack hooks and a channel's `options.api_base_url`; customers'
messages carry media URLs that providers (or whoever forged the update) chose. Without a guard
any of them could point our Lambda at the cloud metadata service, a VPC database or localhost.
The host is resolved once, every address it resolves to must be public (one private answer is
enough to refuse: a resolver may rotate them), and the request then connects to one of those
verified addresses (`pinned_pool`: the original Host header and SNI, the verified IP), so a
second DNS answer (rebinding) can never be used.

An `AllowList` (parsed from `WEBHOOK_ALLOW_HOSTS` by the handler layer: comma-separated
`host`, `host:port` or explicit CIDRs such as `10.9.0.0/16`) lets local testing reach
127.0.0.1 (webhook receivers, fake providers); it is not meant for production. A host entry
(an IP too) matches that host as written in the URL only, never every name that resolves to
it. Without one nothing is excepted.

`check_at_the_door` refuses what is plainly not public when an admin saves the URL (IP
literals in any spelling, names that only exist inside a network, names resolving to
private addresses); `check_destination` checks again, after DNS, at every request."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import SplitResult, quote, unquote, urlsplit

import urllib3

from helpdesk.delivery import PermanentFailure, TemporaryFailure

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# (host, port) -> addresses as strings, in the resolver's order.
Resolver = Callable[[str, int], list[str]]

ALLOW_ENV = "WEBHOOK_ALLOW_HOSTS"
DEFAULT_PORTS = {"http": 80, "https": 443}


class BlockedDestination(PermanentFailure):
    """The URL is not an http(s) URL to a public address; retrying cannot change that."""

    def __init__(self, message: str, *, address_class: str | None = None) -> None:
        super().__init__(message)
        self.address_class = address_class


def _nets(*pairs: tuple[str, str]) -> tuple[tuple[IPNetwork, str], ...]:
    return tuple((ipaddress.ip_network(cidr), name) for cidr, name in pairs)


# Named first (the refusal says which), then anything else not globally routable.
_V4 = _nets(
    ("169.254.169.254/32", "link-local (cloud metadata)"),
    ("0.0.0.0/8", "unspecified"),
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "carrier-grade NAT"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local"),
    ("172.16.0.0/12", "private"),
    ("192.168.0.0/16", "private"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),  # 255.255.255.255 included
)
_V6 = _nets(
    ("fd00:ec2::254/128", "unique-local (cloud metadata)"),
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("fe80::/10", "link-local"),
    ("fc00::/7", "unique-local"),
    ("ff00::/8", "multicast"),
    ("fec0::/10", "site-local"),
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def address_class(address: IPAddress) -> str | None:
    """Why an address is off limits ('loopback', 'private', ...), or None for a public one."""
    table = _V4 if address.version == 4 else _V6
    for network, name in table:
        if address in network:
            return name
    if isinstance(address, ipaddress.IPv6Address):
        # IPv6 forms that carry an IPv4 address a dual-stack host or a gateway would reach.
        for embedded, form in ((address.ipv4_mapped, "IPv4-mapped"),
                               (address.sixtofour, "6to4"),
                               (_nat64(address), "NAT64")):
            if embedded is not None:
                inner = address_class(embedded)
                return f"{form} {inner}" if inner else None
    if address.is_multicast:
        return "multicast"
    if address.is_reserved:
        return "reserved"
    if not address.is_global:
        return "special-purpose (not globally routable)"
    return None


def _nat64(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


@dataclass(frozen=True)
class AllowList:
    """Exceptions for local testing: hosts (any or one port) and networks."""

    hosts: frozenset[tuple[str, int | None]] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, text: str) -> AllowList:
        hosts: set[tuple[str, int | None]] = set()
        networks: list[IPNetwork] = []
        for entry in (part.strip() for part in text.split(",")):
            if not entry:
                continue
            if "/" in entry:  # only an explicit CIDR is a range of addresses
                try:
                    networks.append(ipaddress.ip_network(entry, strict=False))
                    continue
                except ValueError:
                    raise ValueError(f"{ALLOW_ENV}: bad network {entry!r}") from None
            if _ip(entry) is not None:
                hosts.add((_canonical_host(entry), None))
                continue
            parts = urlsplit(f"//{entry}")
            try:
                port = parts.port
            except ValueError:
                raise ValueError(f"{ALLOW_ENV}: bad entry {entry!r}") from None
            if not parts.hostname or parts.path or parts.username:
                raise ValueError(f"{ALLOW_ENV}: bad entry {entry!r}; use host, host:port "
                                 "or a CIDR")
            hosts.add((_canonical_host(parts.hostname), port))
        return cls(frozenset(hosts), tuple(networks))

    def allows_host(self, host: str, port: int) -> bool:
        return (host, None) in self.hosts or (host, port) in self.hosts

    def allows_address(self, address: IPAddress) -> bool:
        return any(address in network for network in self.networks)


DEFAULT_ALLOW = AllowList()  # no exceptions (tests replace it to reach their receivers)


@dataclass(frozen=True)
class Destination:
    """A checked URL: what to connect to (the verified addresses) and what to say."""

    scheme: str
    host: str  # ASCII (IDNA) host name or IP literal, without brackets
    port: int
    target: str  # path and query, percent-encoded
    addresses: tuple[str, ...]  # verified, in the resolver's order: the sender tries them
    username: str | None = None
    password: str | None = None

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"

    @property
    def is_ip_literal(self) -> bool:
        return _ip(self.host) is not None


def check_destination(url: str, *, allow: AllowList | None = None,
                      resolver: Resolver | None = None) -> Destination:
    """The URL's verified destination. Raises BlockedDestination (permanent) for anything but
    an http(s) URL whose host resolves to public addresses only, TemporaryFailure when the
    name does not resolve now."""
    allow = DEFAULT_ALLOW if allow is None else allow
    parts, scheme, host, port = _split(url)
    addresses = _resolve(host, port, resolver or _getaddrinfo)
    if not allow.allows_host(host, port):
        for text, address in addresses:
            _refuse_unless_public(host, text, address, allow, link="resolves to")
    path = quote(parts.path or "/", safe="/%:@!$&'()*+,;=-._~")
    query = quote(parts.query, safe="/?%:@!$&'()*+,;=-._~")
    return Destination(scheme=scheme, host=host, port=port,
                       target=f"{path}?{query}" if query else path,
                       addresses=tuple(text for text, _ in addresses),
                       username=_unquoted(parts.username), password=_unquoted(parts.password))


# Names that exist only inside a network (cloud metadata, a LAN, this machine).
_INTERNAL_SUFFIXES = (".internal", ".local", ".localhost", ".localdomain", ".lan", ".home.arpa",
                      ".intranet", ".corp")


def check_at_the_door(url: str, *, allow: AllowList | None = None,
                      resolver: Resolver | None = None) -> None:
    """Refuse (BlockedDestination) a URL that is plainly not public when it is saved: not
    http(s), an IP literal of a private, loopback, link-local or reserved range in any
    spelling (`0x7f000001`, `2130706433`, `127.1`, `[::1]`), a name that only exists inside
    a network (`metadata.google.internal`, `printer.local`, one label), or a name that
    resolves to such an address now. A name that does not resolve now passes: every request
    resolves it again and refuses then (`check_destination`)."""
    allow = DEFAULT_ALLOW if allow is None else allow
    _, _, host, port = _split(url)
    if allow.allows_host(host, port):
        return
    literal = _ip(host) or _legacy_ipv4(host)
    if literal is not None:
        _refuse_unless_public(host, host if _ip(host) else str(literal), literal, allow)
        return
    if "." not in host or host.endswith(_INTERNAL_SUFFIXES):
        raise BlockedDestination(f"{host} is a name inside a network, not a public host",
                                 address_class="internal name")
    try:
        addresses = _resolve(host, port, resolver or _getaddrinfo)
    except TemporaryFailure:
        return  # cannot tell now; every send checks again
    for text, address in addresses:
        _refuse_unless_public(host, text, address, allow)


def _split(url: str) -> tuple[SplitResult, str, str, int]:
    """The URL's parts, scheme, canonical host and port; BlockedDestination when it is not an
    http(s) URL with a host and a valid port."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise BlockedDestination(f"bad URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise BlockedDestination(f"URL must be http or https, not {scheme or 'none'!r}")
    if not parts.hostname:
        raise BlockedDestination("URL has no host")
    return parts, scheme, _canonical_host(parts.hostname), port or DEFAULT_PORTS[scheme]


def _refuse_unless_public(host: str, text: str, address: IPAddress, allow: AllowList, *,
                          link: str = "means") -> None:
    if allow.allows_address(address):
        return
    reason = address_class(address)
    if reason is not None:
        named = host if text == host else f"{host} {link} {text}, which"
        raise BlockedDestination(
            f"{named} is a {reason} address; only public addresses are reached",
            address_class=reason)


def _legacy_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """The address of the old numeric spellings resolvers still accept (`2130706433`,
    `0x7f000001`, `127.1`, `0177.0.0.1`), or None for a name."""
    if not all(part and (part.isdigit() or part.lower().startswith("0x"))
               for part in host.split(".")):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def _unquoted(value: str | None) -> str | None:
    return None if value is None else unquote(value)


def _canonical_host(hostname: str) -> str:
    host = hostname.lower().rstrip(".")
    if _ip(host) is not None:
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        raise BlockedDestination(f"URL host {hostname!r} is not a valid name") from None


def _resolve(host: str, port: int, resolver: Resolver) -> list[tuple[str, IPAddress]]:
    try:
        found = resolver(host, port)
    except (OSError, UnicodeError) as exc:  # socket.gaierror is an OSError
        raise TemporaryFailure(f"cannot resolve {host}: {exc}") from None
    addresses: list[tuple[str, IPAddress]] = []
    for text in _unique(found):
        address = _ip(text)
        if address is None:
            raise BlockedDestination(f"{host} resolved to {text!r}, not an IP address")
        addresses.append((text, address))
    if not addresses:
        raise TemporaryFailure(f"{host} resolved to no address")
    return addresses


def _getaddrinfo(host: str, port: int) -> list[str]:
    # socket.getaddrinfo looked up at call time, so tests can monkeypatch it.
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return [str(info[4][0]) for info in infos]


def _ip(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def pinned_pool(destination: Destination, address: str, *, timeout: urllib3.Timeout,
                maxsize: int = 1, ca_certs: str | None = None) -> urllib3.HTTPConnectionPool:
    """A connection pool bound to one verified address of `destination`. Requests through it
    carry `destination.host_header` as Host; TLS sends the URL's name as SNI and checks the
    certificate against it, so connecting to the IP loses nothing."""
    if destination.scheme == "http":
        return urllib3.HTTPConnectionPool(address, destination.port, maxsize=maxsize,
                                          timeout=timeout)
    name = None if destination.is_ip_literal else destination.host
    return urllib3.HTTPSConnectionPool(
        address, destination.port, maxsize=maxsize, timeout=timeout,
        cert_reqs="CERT_REQUIRED", ca_certs=ca_certs,
        server_hostname=name, assert_hostname=destination.host)
