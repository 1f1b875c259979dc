"""What deploy/nginx.conf does to a request's headers, done by a test proxy (``tests/faults/tcpproxy.py``) without
nginx (Docker, and so nginx as compose runs it, is not on the CI machines).

Each ``proxy_set_header NAME VALUE;`` of the file replaces every header NAME the client sent with VALUE, and an empty
value passes none, as nginx does. The variables the file uses are given the values nginx would give them; one that
is not known here fails the test, so a change to the file is noticed rather than ignored.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from tests.faults.tcpproxy import TcpProxy
from tests.servers import ROOT, Server

NGINX_CONF = ROOT / "deploy" / "nginx.conf"
RULE = re.compile(r"^\s*proxy_set_header\s+(\S+)\s+(\S+)\s*;", re.MULTILINE)


def header_rules(conf: Path = NGINX_CONF) -> list[tuple[str, str]]:
    return RULE.findall(conf.read_text())


def as_nginx(scheme: str = "http", conf: Path = NGINX_CONF) -> Callable[[bytes, tuple[str, int]], bytes]:
    """A ``rewrite_head`` for ``TcpProxy``; ``scheme`` is nginx's ``$scheme`` (``https`` where it ends TLS)."""
    rules = header_rules(conf)
    replaced = {name.lower() for name, _ in rules}

    def rewrite(head: bytes, client: tuple[str, int]) -> bytes:
        request_line, *lines = head.decode("latin-1").rstrip("\r\n").split("\r\n")
        headers = [tuple(part.strip() for part in line.split(":", 1)) for line in lines]

        def received(name: str) -> str:
            return ", ".join(value for key, value in headers if key.lower() == name)

        variables = {
            "$remote_addr": client[0],
            "$scheme": scheme,
            "$http_host": received("host"),
            "$http_upgrade": received("upgrade"),
            "$connection_upgrade": "upgrade" if received("upgrade") else "close",  # the file's own map
            "$proxy_add_x_forwarded_for": ", ".join(filter(None, [received("x-forwarded-for"), client[0]])),
        }
        sent = [(key, value) for key, value in headers if key.lower() not in replaced]
        for name, value in rules:
            if value := variables[value] if value.startswith("$") else value:
                sent.append((name, value))
        return "\r\n".join([request_line, *(f"{key}: {value}" for key, value in sent), "", ""]).encode("latin-1")

    return rewrite


# Loopback addresses stand for machines: nginx connects to daphne from this one (the address tests put in
# TRUSTED_PROXIES), so a test's own direct connections (127.0.0.1) are not the proxy's.
PROXY_ADDRESS = "127.0.0.2"


def nginx_in_front(server: Server, scheme: str = "http") -> TcpProxy:
    """A proxy in front of ``server`` doing what deploy/nginx.conf does to the headers, from ``PROXY_ADDRESS``;
    it rewrites the first request of each connection, so its clients send one request per connection (urllib and
    websockets do)."""
    return TcpProxy([("127.0.0.1", server.port)], source_host=PROXY_ADDRESS, rewrite_head=as_nginx(scheme))
