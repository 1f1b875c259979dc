"""The socket's origin check compares scheme, host and port, as Django's CSRF check does for a form post (the attack
through real daphne is tests/hardening/test_socket_origin.py)."""

from __future__ import annotations

from typing import Any

import pytest

from securechat.websocket_origin import origin_allowed


@pytest.fixture(autouse=True)
def site(settings: Any) -> None:
    settings.ALLOWED_HOSTS = ["chat.example.org", "127.0.0.1"]
    settings.CSRF_TRUSTED_ORIGINS = ["https://app.example.net", "https://*.example.com"]
    settings.DEBUG = False


def handshake(*headers: tuple[str, str], scheme: str = "ws") -> dict[str, Any]:
    return {"type": "websocket", "scheme": scheme, "headers": [(n.encode(), v.encode()) for n, v in headers]}


@pytest.mark.parametrize(
    "scheme, host, origin, allowed",
    [
        ("ws", "chat.example.org", "http://chat.example.org", True),
        ("wss", "chat.example.org", "https://chat.example.org", True),
        ("ws", "127.0.0.1:8000", "http://127.0.0.1:8000", True),
        ("ws", "127.0.0.1:8000", "http://127.0.0.1:8001", False),  # another port
        ("ws", "127.0.0.1:8000", "http://127.0.0.1", False),
        ("ws", "chat.example.org", "https://chat.example.org", False),  # another scheme
        ("wss", "chat.example.org", "http://chat.example.org", False),
        ("ws", "chat.example.org", "http://evil.example", False),
        ("ws", "chat.example.org", "null", False),
        ("ws", "evil.example", "http://evil.example", False),  # a host the site does not answer to
        ("ws", "chat.example.org", "https://app.example.net", True),  # listed
        ("ws", "chat.example.org", "https://eu.example.com", True),  # under a listed wildcard
        ("ws", "chat.example.org", "http://eu.example.com", False),  # the wildcard's scheme is https
        ("ws", "chat.example.org", "https://app.example.net:8443", False),
    ],
)
def test_the_origin_must_be_the_sites_own_or_a_listed_one(scheme: str, host: str, origin: str, allowed: bool) -> None:
    assert origin_allowed(handshake(("Host", host), ("Origin", origin), scheme=scheme)) is allowed


def test_a_handshake_without_one_origin_is_refused() -> None:
    assert not origin_allowed(handshake(("Host", "chat.example.org")))
    two = handshake(
        ("Host", "chat.example.org"), ("Origin", "http://chat.example.org"), ("Origin", "http://evil.example")
    )
    assert not origin_allowed(two)


def test_without_a_host_only_a_listed_origin_is_allowed() -> None:
    assert not origin_allowed(handshake(("Origin", "http://chat.example.org")))
    assert origin_allowed(handshake(("Origin", "https://app.example.net")))
