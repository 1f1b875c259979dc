"""Who is on a WebSocket: the session cookie, read once as the socket opens.

Channels' ``AuthMiddlewareStack`` serves HTTP as well: its session wrapper checks, for every message the app
sends, whether the session changed and must be saved before a response goes out. A socket here never changes
its session, and every chat message goes out to every member's socket through ``send``, so sockets get a stack
that resolves the session and the user once, puts the user itself in the scope (not a lazy proxy), and leaves
``send`` alone (docs/PERFORMANCE.md). The user is resolved exactly as Channels does it (``channels.auth.get_user``:
the session's user, if the session's password hash still matches, else anonymous).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from channels.auth import get_user
from channels.middleware import BaseMiddleware
from channels.sessions import CookieMiddleware
from django.conf import settings


class SocketSessionMiddleware(BaseMiddleware):
    """Puts ``session`` and the resolved ``user`` in the scope; needs ``CookieMiddleware`` above it."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        scope = dict(scope)
        session_store = import_module(settings.SESSION_ENGINE).SessionStore
        scope["session"] = session_store(scope["cookies"].get(settings.SESSION_COOKIE_NAME))
        scope["user"] = await get_user(scope)
        return await super().__call__(scope, receive, send)


def socket_auth_stack(inner: Any) -> Any:
    return CookieMiddleware(SocketSessionMiddleware(inner))
