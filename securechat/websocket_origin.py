"""A WebSocket opens only from the site's own origin, or from one listed in ``CSRF_TRUSTED_ORIGINS``.

A browser sends the user's cookie with a socket that any page opens, and says which page opened it in ``Origin``.
The site's own origin is the one the handshake reached: its scheme (``scope["scheme"]``, which
``securechat/proxy_headers.py`` takes from a trusted proxy only) and its ``Host`` header, port included, when the
host is in ``ALLOWED_HOSTS``. That is the comparison Django's CSRF check makes for a form post
(``CsrfViewMiddleware``'s origin check, with the same wildcard entries), so a page may open a socket exactly when it
may post a form: a page on another port or scheme of the same host is another origin for both. A handshake without
exactly one ``Origin`` is refused (browsers always send one).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host
from django.utils.http import is_same_domain

SECURE_SCHEMES = {"https", "wss"}


def header_values(scope: dict[str, Any], name: bytes) -> list[str]:
    return [value.decode("latin-1") for key, value in scope.get("headers") or () if key.lower() == name]


def own_origin(scope: dict[str, Any]) -> str | None:
    """``scheme://host[:port]`` as the handshake reached the site; None when the Host is missing or not allowed."""
    hosts = header_values(scope, b"host")
    if len(hosts) != 1:
        return None
    allowed_hosts = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed_hosts:  # as Django's request.get_host()
        allowed_hosts = [".localhost", "127.0.0.1", "[::1]"]
    domain, _ = split_domain_port(hosts[0])
    if not domain or not validate_host(domain, allowed_hosts):
        return None
    scheme = "https" if scope.get("scheme") in SECURE_SCHEMES else "http"
    return f"{scheme}://{hosts[0]}"


def is_trusted_origin(origin: str) -> bool:
    """In ``CSRF_TRUSTED_ORIGINS``: exactly, or under an entry's ``*.`` for its scheme."""
    trusted = settings.CSRF_TRUSTED_ORIGINS
    if origin in trusted:
        return True
    try:
        parsed = urlsplit(origin)
    except ValueError:
        return False
    patterns = (urlsplit(entry) for entry in trusted if "*" in entry)
    return any(
        pattern.scheme == parsed.scheme and is_same_domain(parsed.netloc, pattern.netloc.lstrip("*"))
        for pattern in patterns
    )


def origin_allowed(scope: dict[str, Any]) -> bool:
    origins = header_values(scope, b"origin")
    if len(origins) != 1:
        return False
    return origins[0] == own_origin(scope) or is_trusted_origin(origins[0])


class SameOriginOnly:
    """ASGI middleware for sockets: a handshake from another origin is refused (403) before anything else runs."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] == "websocket" and not origin_allowed(scope):
            return await WebsocketDenier()(scope, receive, send)
        return await self.app(scope, receive, send)
