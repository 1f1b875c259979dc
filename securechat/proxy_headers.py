"""Where a request or socket comes from, decided once for HTTP and WebSocket: the TCP peer, or what a trusted proxy
says the peer was.

daphne runs without ``--proxy-headers``, so ``scope["client"]`` is the TCP peer and ``scope["scheme"]`` is what daphne
itself speaks. Around the whole application, ``ProxyHeaders`` believes ``X-Forwarded-For`` and ``X-Forwarded-Proto``
only when that peer is in ``TRUSTED_PROXIES``:

- the client is the right-most ``X-Forwarded-For`` entry that is not itself a trusted proxy: each proxy appends the
  address it was connected from, so entries to the left of it are whatever the client chose to send;
- the scheme is ``X-Forwarded-Proto`` when it is one value, ``http`` or ``https`` (``ws``/``wss`` on a socket).

From any other peer these headers, and the other forwarding headers (``Forwarded``, ``X-Forwarded-Host``,
``X-Forwarded-Port``, ``X-Real-IP``), are dropped, and from a trusted proxy they are dropped once read: nothing the app
runs (Django's ``REMOTE_ADDR`` and ``request.is_secure()``, the audit log, the throttles, the origin check) can read
one and be aimed by a client.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

FORWARDING_HEADERS = frozenset(
    {b"forwarded", b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host", b"x-forwarded-port", b"x-real-ip"}
)
SCHEMES = {"http": {"http": "http", "https": "https"}, "websocket": {"http": "ws", "https": "wss"}}


def trusted_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """``TRUSTED_PROXIES`` as networks (an address is a network of one); a value that is neither stops the start."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip()))
        except ValueError as error:
            raise ImproperlyConfigured(f"TRUSTED_PROXIES: {error}") from None
    return tuple(networks)


def parse_address(text: str) -> Address | None:
    """An address as a peer or an ``X-Forwarded-For`` entry gives it (``1.2.3.4``, ``1.2.3.4:56``, ``::1``,
    ``[::1]:56``), IPv4-mapped IPv6 as IPv4; None for anything else."""
    text = text.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class ProxyHeaders:
    """ASGI middleware: ``scope["client"]`` and ``scope["scheme"]`` as the module says, forwarding headers removed."""

    def __init__(self, app: Any, trusted: Iterable[str] | None = None) -> None:
        self.app = app
        self.trusted = trusted_networks(settings.TRUSTED_PROXIES if trusted is None else trusted)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] in SCHEMES:
            scope = self.resolve(scope)
        return await self.app(scope, receive, send)

    def is_trusted(self, address: Address | None) -> bool:
        return address is not None and any(address in network for network in self.trusted)

    def resolve(self, scope: dict[str, Any]) -> dict[str, Any]:
        kept, forwarded_for, forwarded_proto = [], [], []
        for name, value in scope.get("headers") or ():
            lowered = name.lower()
            if lowered == b"x-forwarded-for":
                forwarded_for.append(value.decode("latin-1"))
            elif lowered == b"x-forwarded-proto":
                forwarded_proto.append(value.decode("latin-1"))
            elif lowered not in FORWARDING_HEADERS:
                kept.append((name, value))
        resolved = {**scope, "headers": kept}
        peer = scope.get("client")
        peer_address = parse_address(str(peer[0])) if peer else None
        if not self.is_trusted(peer_address):
            return resolved
        client = self.client(",".join(forwarded_for), peer_address)
        if client != peer_address:
            resolved["client"] = (str(client), 0)
        scheme = forwarded_proto[0].strip().lower() if len(forwarded_proto) == 1 else ""
        if scheme in SCHEMES[scope["type"]]:
            resolved["scheme"] = SCHEMES[scope["type"]][scheme]
        return resolved

    def client(self, forwarded_for: str, peer: Address) -> Address:
        """The right-most entry that is not a trusted proxy; an entry that is no address ends the walk there, and
        the hop after it (the last one a trusted proxy vouched for) is the client."""
        client = peer
        for entry in reversed([entry for entry in forwarded_for.split(",") if entry.strip()]):
            address = parse_address(entry)
            if address is None:
                break
            client = address
            if not self.is_trusted(address):
                break
        return client
