"""``ProxyHeaders`` decides the client's address and scheme once, for HTTP and WebSocket (the attack through real daphne
is tests/hardening/test_client_address.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from securechat.proxy_headers import ProxyHeaders, parse_address

PROXIES = ["10.0.0.0/24", "192.0.2.7"]


def resolved(peer: str | None, *headers: tuple[str, str], kind: str = "http") -> dict[str, Any]:
    """The scope the application behind the middleware gets, for a request from ``peer`` with ``headers``."""
    seen: list[dict[str, Any]] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(scope)

    scope = {
        "type": kind,
        "scheme": "http" if kind == "http" else "ws",
        "client": [peer, 41000] if peer else None,
        "headers": [
            (b"host", b"chat.example.org"),
            *((name.lower().encode(), value.encode()) for name, value in headers),
        ],
    }
    asyncio.run(ProxyHeaders(app, PROXIES)(scope, None, None))
    return seen[0]


def client_of(scope: dict[str, Any]) -> str | None:
    return scope["client"][0] if scope["client"] else None


@pytest.mark.parametrize(
    "text, address",
    [
        ("203.0.113.9", "203.0.113.9"),
        (" 203.0.113.9:4711 ", "203.0.113.9"),
        ("2001:db8::1", "2001:db8::1"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("::ffff:10.0.0.5", "10.0.0.5"),
        ("unknown", None),
        ("", None),
        ("203.0.113.9, 10.0.0.5", None),
    ],
)
def test_addresses_are_read_as_proxies_write_them(text: str, address: str | None) -> None:
    parsed = parse_address(text)
    assert (str(parsed) if parsed else None) == address


def test_from_a_peer_that_is_no_trusted_proxy_every_forwarding_header_is_dropped_unread() -> None:
    scope = resolved(
        "203.0.113.50",
        ("X-Forwarded-For", "198.51.100.1"),
        ("X-Forwarded-Proto", "https"),
        ("X-Forwarded-Host", "evil.example"),
        ("X-Forwarded-Port", "443"),
        ("Forwarded", "for=198.51.100.1;proto=https"),
        ("X-Real-IP", "198.51.100.1"),
        ("User-Agent", "curl"),
    )
    assert client_of(scope) == "203.0.113.50"
    assert scope["scheme"] == "http"
    assert scope["headers"] == [(b"host", b"chat.example.org"), (b"user-agent", b"curl")]


@pytest.mark.parametrize(
    "forwarded_for, client",
    [
        ("198.51.100.1", "198.51.100.1"),  # nginx as deployed: one address, the one it was connected from
        ("203.0.113.66, 198.51.100.1", "198.51.100.1"),  # a proxy that appends: the client wrote the left part
        ("203.0.113.66, 198.51.100.1, 10.0.0.9", "198.51.100.1"),  # two trusted proxies
        ("10.0.0.9, 192.0.2.7", "10.0.0.9"),  # every hop trusted: the first of them asked
        ("198.51.100.1, not-an-address", "10.0.0.5"),  # the hop the trusted proxy vouched for is not an address
        ("", "10.0.0.5"),
    ],
)
def test_from_a_trusted_proxy_the_client_is_the_right_most_entry_that_is_no_trusted_proxy(
    forwarded_for: str, client: str
) -> None:
    scope = resolved("10.0.0.5", ("X-Forwarded-For", forwarded_for))
    assert client_of(scope) == client
    assert scope["headers"] == [(b"host", b"chat.example.org")]


def test_x_forwarded_for_in_several_lines_is_read_as_one_list() -> None:
    scope = resolved("10.0.0.5", ("X-Forwarded-For", "203.0.113.66"), ("X-Forwarded-For", "198.51.100.1"))
    assert client_of(scope) == "198.51.100.1"


def test_a_trusted_peer_given_as_an_ipv4_mapped_ipv6_address_is_trusted() -> None:
    assert client_of(resolved("::ffff:192.0.2.7", ("X-Forwarded-For", "198.51.100.1"))) == "198.51.100.1"


@pytest.mark.parametrize(
    "kind, proto, scheme",
    [
        ("http", "https", "https"),
        ("http", "HTTPS ", "https"),
        ("http", "http", "http"),
        ("websocket", "https", "wss"),
        ("websocket", "http", "ws"),
        ("http", "https, http", "http"),  # not one value: the peer's own scheme
        ("http", "gopher", "http"),
    ],
)
def test_the_scheme_is_the_trusted_proxys_x_forwarded_proto_when_it_is_one_known_value(
    kind: str, proto: str, scheme: str
) -> None:
    assert resolved("10.0.0.5", ("X-Forwarded-Proto", proto), kind=kind)["scheme"] == scheme


def test_an_untrusted_peer_cannot_claim_https_on_a_socket_either() -> None:
    scope = resolved("203.0.113.50", ("X-Forwarded-Proto", "https"), ("X-Forwarded-For", "10.0.0.5"), kind="websocket")
    assert (scope["scheme"], client_of(scope)) == ("ws", "203.0.113.50")


def test_a_scope_without_a_client_is_passed_on_with_its_forwarding_headers_dropped() -> None:
    scope = resolved(None, ("X-Forwarded-For", "198.51.100.1"))
    assert scope["client"] is None
    assert scope["headers"] == [(b"host", b"chat.example.org")]


def test_lifespan_passes_untouched() -> None:
    seen = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(scope)

    scope = {"type": "lifespan"}
    asyncio.run(ProxyHeaders(app, PROXIES)(scope, None, None))
    assert seen == [scope]


@pytest.mark.parametrize("value", ["*", "10.0.0.300", "10.0.0.1/24", "nginx"])
def test_a_trusted_proxies_value_that_is_no_address_or_network_stops_the_start(value: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="TRUSTED_PROXIES"):
        ProxyHeaders(None, [value])


def test_by_default_no_proxy_is_trusted(settings: Any) -> None:
    assert settings.TRUSTED_PROXIES == []
    assert ProxyHeaders(None).trusted == ()
