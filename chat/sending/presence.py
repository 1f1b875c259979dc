"""Who has at least one open socket, shared by every worker (Redis), or in this process (embedded default).

Each socket registers itself under its user with an expiry it keeps pushing forward; a worker that dies
stops refreshing, so its sockets drop out within ``TTL_SECONDS`` instead of showing users online forever.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable
from typing import Any, Protocol

from django.conf import settings

from toolkit.redis_clients import async_redis

TTL_SECONDS = 60
REFRESH_SECONDS = 20


class Presence(Protocol):
    async def admit(self, user_id: int, socket: str, limit: int) -> bool: ...
    async def connect(self, user_id: int, socket: str) -> None: ...
    async def disconnect(self, user_id: int, socket: str) -> None: ...
    async def online(self, user_ids: Iterable[int]) -> set[int]: ...


class MemoryPresence:
    """One process only: the in-memory channel layer cannot span workers either."""

    def __init__(self) -> None:
        self._sockets: dict[int, dict[str, float]] = defaultdict(dict)

    async def admit(self, user_id: int, socket: str, limit: int) -> bool:
        now = time.time()
        live = {name: expiry for name, expiry in self._sockets[user_id].items() if expiry > now}
        if len(live) >= limit:
            return False
        self._sockets[user_id] = {**live, socket: now + TTL_SECONDS}
        return True

    async def connect(self, user_id: int, socket: str) -> None:
        self._sockets[user_id][socket] = time.time() + TTL_SECONDS

    async def disconnect(self, user_id: int, socket: str) -> None:
        self._sockets[user_id].pop(socket, None)

    async def online(self, user_ids: Iterable[int]) -> set[int]:
        now = time.time()
        return {uid for uid in user_ids if any(expiry > now for expiry in self._sockets.get(uid, {}).values())}


class RedisPresence:
    """A sorted set per user: member = socket (channel name), score = when it expires."""

    def __init__(self, client: Any, prefix: str) -> None:
        self._redis = client
        self._prefix = prefix

    def _key(self, user_id: int) -> str:
        return f"{self._prefix}:presence:{user_id}"

    async def admit(self, user_id: int, socket: str, limit: int) -> bool:
        """Register ``socket`` unless the user already has ``limit`` live ones, counted over every worker.

        Add first, then count: two sockets racing for the last place can both be refused, never both let in.
        """
        key = self._key(user_id)
        now = time.time()
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(key, "-inf", now)
            pipe.zadd(key, {socket: now + TTL_SECONDS})
            pipe.expire(key, TTL_SECONDS * 2)
            pipe.zcard(key)
            *_, live = await pipe.execute()
        if live > limit:
            await self._redis.zrem(key, socket)
            return False
        return True

    async def connect(self, user_id: int, socket: str) -> None:
        key = self._key(user_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zadd(key, {socket: time.time() + TTL_SECONDS})
            pipe.expire(key, TTL_SECONDS * 2)
            await pipe.execute()

    async def disconnect(self, user_id: int, socket: str) -> None:
        await self._redis.zrem(self._key(user_id), socket)

    async def online(self, user_ids: Iterable[int]) -> set[int]:
        ids = list(user_ids)
        now = time.time()
        async with self._redis.pipeline(transaction=False) as pipe:
            for uid in ids:
                pipe.zcount(self._key(uid), now, "+inf")
            counts = await pipe.execute()
        return {uid for uid, count in zip(ids, counts, strict=True) if count}


_memory = MemoryPresence()


def presence() -> Presence:
    client = async_redis()
    return _memory if client is None else RedisPresence(client, settings.REDIS_KEY_PREFIX)
