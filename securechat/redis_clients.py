"""One asyncio Redis client per event loop, on the Redis the settings name (None on the embedded defaults)."""

from __future__ import annotations

import asyncio
import weakref

from django.conf import settings
from redis import asyncio as aioredis

# A client's connections belong to the event loop that opened them: one client per loop.
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aioredis.Redis] = weakref.WeakKeyDictionary()


def async_redis() -> aioredis.Redis | None:
    if not settings.REDIS_URL:
        return None
    loop = asyncio.get_running_loop()
    if loop not in _clients:
        _clients[loop] = aioredis.from_url(settings.REDIS_URL)
    return _clients[loop]
