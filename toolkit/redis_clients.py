"""One asyncio Redis client per event loop, on the Redis the settings name (None on the embedded defaults)."""

from __future__ import annotations

from django.conf import settings
from redis import asyncio as aioredis

from toolkit.per_loop import PerLoop

# A client's connections belong to the event loop that opened them: one client per loop.
_clients: PerLoop[aioredis.Redis] = PerLoop(lambda: aioredis.from_url(settings.REDIS_URL))


def async_redis() -> aioredis.Redis | None:
    if not settings.REDIS_URL:
        return None
    return _clients.get()
