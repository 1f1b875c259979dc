"""Real-time events, sent on the channel layer only after the transaction that caused them commits."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction


def room_group(room_id: uuid.UUID | str) -> str:
    return f"room.{uuid.UUID(str(room_id)).hex}"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def session_tag(session_key: str | None) -> str | None:
    """How events name a session: a digest of its key (a bearer secret, which stays out of Redis)."""
    return hashlib.sha256(session_key.encode()).hexdigest()[:32] if session_key else None


def session_group(tag: str) -> str:
    """The sockets of one session, named by its ``session_tag``."""
    return f"session.{tag}"


def send_on_commit(group: str, event: dict[str, Any]) -> None:
    """Queue ``event`` for ``group`` once the current transaction commits (at once outside one)."""

    def send() -> None:
        layer = get_channel_layer()
        if layer is not None:
            async_to_sync(layer.group_send)(group, event)

    transaction.on_commit(send)
