"""The audit trail: where a request or a socket came from, and the events staff read in the console."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest

from accounts.models import AuditEvent, User


@dataclass(frozen=True)
class ClientInfo:
    """Where a request came from, for the audit log and the throttles."""

    ip_address: str | None
    user_agent: str = ""


def record_event(
    action: AuditEvent.Action,
    *,
    client: ClientInfo,
    user: User | None = None,
    username: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    return AuditEvent.objects.create(
        action=action,
        user=user,
        username=(username or (user.username if user else ""))[:150],
        ip_address=client.ip_address,
        user_agent=client.user_agent[:300],
        detail=detail or {},
    )


# REMOTE_ADDR and a socket's scope["client"] are the address securechat/proxy_headers.py decided (the peer, or what a
# trusted proxy said it was): never read a forwarding header here, the app does not get one.
def client_info(request: HttpRequest) -> ClientInfo:
    return ClientInfo(
        ip_address=request.META.get("REMOTE_ADDR") or None,
        user_agent=storable(request.headers.get("User-Agent", "")),
    )


def storable(text: str) -> str:
    """A header as the audit log can keep it: without NUL (Postgres refuses it) or unpaired surrogates."""
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def socket_client_info(scope: dict[str, Any]) -> ClientInfo:
    """Where a WebSocket comes from, for the audit log."""
    client = scope.get("client")
    headers = dict(scope.get("headers") or [])
    agent = headers.get(b"user-agent", b"").decode("latin-1")
    return ClientInfo(ip_address=client[0] if client else None, user_agent=storable(agent))
