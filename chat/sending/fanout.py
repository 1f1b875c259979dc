"""Room messages reach each worker once, and the worker hands them to its own sockets in that room.

A worker's sockets register here for the rooms their consumers have. A batch of stored messages for a room is
one ``messages`` frame (more if it is large), published once; every worker with sockets in the room gets one copy
and writes the already-encoded frame to each of them (docs/PERFORMANCE.md). Membership is still the consumers' business.

With Redis (several workers), the copy travels over Redis pub/sub: one PUBLISH per room and batch (all rooms of a
batch in one round trip), and one subscription per worker and room. The channel layer's groups did the same job with
about a dozen Redis round trips per message, which cost more CPU than storing the message. Pub/sub keeps nothing for a
worker that is not listening, so any break in the worker's subscription connection closes every socket it serves:
each client reconnects and catches up from the database with ``sync``, and nothing is silently missed. On the embedded
defaults there is one process, and a batch goes straight to its sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from django.conf import settings
from redis import asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from toolkit.per_loop import PerLoop

logger = logging.getLogger(__name__)

# Close code for sockets whose fan-out broke: "try again" (the client reconnects and syncs). In the private range,
# as RFC 6455's own 1013 is: autobahn (daphne) lets an app send only 1000 and 3000-4999, and refused 1013.
CLOSE_TRY_AGAIN = 4013
# A quiet subscription is pinged this often; no answer within as long again counts as a broken connection.
KEEPALIVE_SECONDS = 10.0
# How long joining a room waits for Redis to confirm the subscription.
SUBSCRIBE_TIMEOUT_SECONDS = 5.0


class Receiver(Protocol):
    async def send(self, text_data: str | None = None) -> None: ...
    async def close(self, code: int | None = None, reason: str | None = None) -> None: ...


class RoomFanout:
    """One per worker (event loop): local sockets by room, and the bus that brings the rooms' messages."""

    def __init__(self, bus: RedisBus | None) -> None:
        self.bus = bus
        self.sockets: defaultdict[str, set[Receiver]] = defaultdict(set)
        if bus is not None:
            bus.deliver, bus.failed = self._deliver, self.reset

    async def join(self, room_id: str, socket: Receiver) -> None:
        """From now on ``socket`` gets the room's messages (returns once the worker is subscribed)."""
        self.sockets[room_id].add(socket)
        if self.bus is not None:
            await self.bus.subscribe(room_id)

    def leave(self, room_id: str, socket: Receiver) -> None:
        """No more of the room's messages for ``socket``; the worker unsubscribes when a message finds no socket."""
        sockets = self.sockets.get(room_id)
        if sockets is not None:
            sockets.discard(socket)
            if not sockets:
                del self.sockets[room_id]

    async def publish(self, frames: list[tuple[str, str]]) -> None:
        """Send each ``(room_id, frame)``'s encoded frame to every socket of the room on every worker, in order."""
        if self.bus is None:
            for room_id, frame in frames:
                await self._deliver(room_id, frame)
        else:
            await self.bus.publish(frames)

    async def _deliver(self, room_id: str, frame: str) -> None:
        sockets = self.sockets.get(room_id)
        if not sockets:
            if self.bus is not None:
                self.bus.unsubscribe_soon(room_id, lambda: bool(self.sockets.get(room_id)))
            return
        for socket in list(sockets):
            try:
                await socket.send(text_data=frame)
            except Exception as error:  # that socket is closing (its consumer leaves the room), or the frame is bad
                logger.warning("could not deliver a frame to a socket: %r", error)

    async def reset(self) -> None:
        """Forget every socket and subscription, and close the sockets: their clients reconnect and sync."""
        sockets = {socket for room_sockets in self.sockets.values() for socket in room_sockets}
        self.sockets.clear()
        if self.bus is not None:
            await self.bus.close()
        for socket in sockets:
            with contextlib.suppress(Exception):
                await socket.close(code=CLOSE_TRY_AGAIN)


# ARGV: a channel and its message, then the next pair, and so on. Scripts run atomically, like a MULTI transaction.
PUBLISH_EACH = """
for i = 1, #ARGV, 2 do
  redis.call('PUBLISH', ARGV[i], ARGV[i + 1])
end
return #ARGV / 2
"""


class RedisBus:
    """The worker's Redis pub/sub: one connection that subscribes to the rooms, publishes through the pool.

    Its client never retries behind our back: a reconnect would resubscribe silently, and whatever was published
    meanwhile would be lost without anyone knowing. Instead any error on the subscription ends it, and ``failed``
    (the fan-out's reset) closes the sockets that relied on it.
    """

    def __init__(self, url: str, prefix: str) -> None:
        self.where = (url, prefix)
        # Named, so an operator (and a test) can tell the workers' subscriptions apart in CLIENT LIST.
        self.client = aioredis.from_url(url, retry=Retry(NoBackoff(), 0), client_name=f"{prefix}:fanout")
        self.prefix = prefix
        self.deliver: Callable[[str, str], Awaitable[None]] | None = None
        self.failed: Callable[[], Awaitable[None]] | None = None
        self.pubsub: Any = None
        self.subscribed: set[str] = set()
        self.confirmations: dict[str, asyncio.Future[None]] = {}
        self.lock = asyncio.Lock()
        self.task: asyncio.Task[None] | None = None
        self.background: set[asyncio.Task[None]] = set()  # unsubscriptions under way
        self.publish_each = self.client.register_script(PUBLISH_EACH)

    def channel(self, room_id: str) -> str:
        # Pub/sub ignores Redis's database number: the key prefix keeps deployments sharing a Redis apart.
        return f"{self.prefix}:room:{uuid.UUID(room_id).hex}"

    def room_of(self, channel: bytes) -> str:
        return str(uuid.UUID(channel.decode().rsplit(":", 1)[1]))

    async def publish(self, frames: list[tuple[str, str]]) -> None:
        """One PUBLISH per frame, all in one script: one round trip, published all or none, and in order.

        A script, not a MULTI transaction: redis-py handles a transaction's every command and its "QUEUED" reply in
        Python, which costs more CPU than the script (docs/PERFORMANCE.md).
        """
        if len(frames) == 1:
            [(room_id, frame)] = frames
            await self.client.publish(self.channel(room_id), frame)
            return
        await self.publish_each(args=[part for room_id, frame in frames for part in (self.channel(room_id), frame)])

    async def subscribe(self, room_id: str) -> None:
        if room_id in self.subscribed:
            return
        async with self.lock:
            if room_id in self.subscribed:
                return
            channel = self.channel(room_id)
            if self.pubsub is None:
                self.pubsub = self.client.pubsub()
            confirmed = self.confirmations[channel] = asyncio.get_running_loop().create_future()
            try:
                await self.pubsub.subscribe(channel)
                if self.task is None:
                    self.task = asyncio.create_task(self._receive())
                # Confirmed: anything published from now on reaches this worker.
                await asyncio.wait_for(asyncio.shield(confirmed), SUBSCRIBE_TIMEOUT_SECONDS)
            finally:
                self.confirmations.pop(channel, None)
            self.subscribed.add(room_id)

    def unsubscribe_soon(self, room_id: str, still_needed: Callable[[], bool]) -> None:
        """Unsubscribe from the room unless ``still_needed`` says otherwise by then, off the receiving task.

        The receiving task must never wait for the lock: a ``subscribe`` holding it waits for a confirmation that
        only the receiving task can read.
        """
        task = asyncio.create_task(self._unsubscribe_unless(room_id, still_needed))
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    async def _unsubscribe_unless(self, room_id: str, still_needed: Callable[[], bool]) -> None:
        async with self.lock:
            if room_id in self.subscribed and not still_needed():
                self.subscribed.discard(room_id)
                try:
                    await self.pubsub.unsubscribe(self.channel(room_id))
                except Exception:  # a broken connection: the receiving task fails too, and resets
                    logger.warning("could not unsubscribe from a room's messages", exc_info=True)

    async def _receive(self) -> None:
        try:
            pinged = False
            while True:
                message = await self.pubsub.get_message(timeout=KEEPALIVE_SECONDS)
                if message is None:
                    if pinged:
                        raise ConnectionError("Redis did not answer a ping on the subscription")
                    await self.pubsub.ping()
                    pinged = True
                    continue
                pinged = False
                if message["type"] == "message":
                    await self.deliver(self.room_of(message["channel"]), message["data"].decode())
                elif message["type"] == "subscribe":
                    confirmed = self.confirmations.get(message["channel"].decode())
                    if confirmed is not None and not confirmed.done():
                        confirmed.set_result(None)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("room fan-out lost its Redis subscription; closing its sockets so they reconnect and sync")
            self.task = None  # ``close`` must not cancel the task running it
            await self.failed()

    async def close(self) -> None:
        """End the subscription (safe with Redis down); the next ``subscribe`` starts a new one."""
        task, pubsub = self.task, self.pubsub
        self.task, self.pubsub = None, None
        self.subscribed.clear()
        for confirmed in self.confirmations.values():
            if not confirmed.done():
                confirmed.set_exception(ConnectionError("the subscription was closed"))
        if task is not None and task is not asyncio.current_task():
            task.cancel()
        if pubsub is not None:
            with contextlib.suppress(Exception):
                await pubsub.aclose()


def _fanout_here() -> RoomFanout:
    return RoomFanout(RedisBus(*_bus_settings()) if settings.REDIS_URL else None)


def _bus_settings() -> tuple[str, str]:
    return (settings.REDIS_URL, settings.REDIS_KEY_PREFIX)


def _fits_settings(fanout: RoomFanout) -> bool:
    where = _bus_settings() if settings.REDIS_URL else None
    return (fanout.bus.where if fanout.bus else None) == where


_fanouts: PerLoop[RoomFanout] = PerLoop(_fanout_here, _fits_settings)


def room_fanout() -> RoomFanout:
    """This worker's fan-out (one per event loop), on the Redis the settings name."""
    return _fanouts.get()
