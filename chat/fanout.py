"""Room messages reach each worker once, and the worker hands them to its own sockets in that room.

Without this, a message to a room of 50 is 50 channel-layer messages: one per socket, each stored in
Redis, popped and dispatched to its consumer on its own. With it, the worker's one fan-out channel is in
the room's message group, gets one copy, and writes the already-encoded frame to each local socket that
joined the room (docs/PERFORMANCE.md). Membership is still the consumers' business: a socket is here only
while its consumer has the room.

If the channel layer fails under the fan-out (Redis restarted), every socket it served is closed: each
client reconnects and catches up from the database with ``sync``, so nothing is silently missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections import defaultdict
from typing import Any, Protocol

from channels.layers import BaseChannelLayer, get_channel_layer

from chat import events

logger = logging.getLogger(__name__)

# Close code for sockets whose fan-out broke: "try again" (the client reconnects and syncs).
CLOSE_TRY_AGAIN = 1013
# channels_redis forgets group members after a day: every subscription is renewed well within that.
RENEW_SECONDS = 3600
# Frames of one room published together, up to about this many characters per channel-layer message.
BUNDLE_BYTES = 512 * 1024


class Receiver(Protocol):
    async def send(self, text_data: str | None = None) -> None: ...
    async def close(self, code: int | None = None, reason: str | None = None) -> None: ...


class RoomFanout:
    """One per worker (event loop): local sockets by room, and the room groups the worker is in."""

    def __init__(self, layer: BaseChannelLayer) -> None:
        self.layer = layer
        self.channel: str | None = None
        self.sockets: defaultdict[str, set[Receiver]] = defaultdict(set)
        self.subscribed: set[str] = set()
        self.lock = asyncio.Lock()
        self.tasks: list[asyncio.Task[None]] = []

    async def join(self, room_id: str, socket: Receiver) -> None:
        """From now on ``socket`` gets the room's messages (returns once the worker is subscribed)."""
        self.sockets[room_id].add(socket)
        if room_id in self.subscribed:
            return
        async with self.lock:
            if room_id not in self.subscribed:
                await self.layer.group_add(events.room_messages_group(room_id), await self._channel())
                self.subscribed.add(room_id)

    def leave(self, room_id: str, socket: Receiver) -> None:
        """No more of the room's messages for ``socket``; the group is left when a message finds no socket."""
        sockets = self.sockets.get(room_id)
        if sockets is not None:
            sockets.discard(socket)
            if not sockets:
                del self.sockets[room_id]

    async def publish(self, room_id: str, frames: list[str]) -> None:
        """Send encoded ``message`` frames, in order, to every socket of the room on every worker.

        Frames travel together (one channel-layer message per batch) up to about ``BUNDLE_BYTES``.
        """
        group = events.room_messages_group(room_id)
        for bundle in _bundles(frames):
            await self.layer.group_send(group, {"type": "room.message", "room": room_id, "frames": bundle})

    async def _channel(self) -> str:
        if self.channel is None:
            # The default prefix: channels_redis reads one Redis list per process, shared by all its channels.
            self.channel = await self.layer.new_channel()
            self.tasks = [asyncio.create_task(self._receive()), asyncio.create_task(self._renew())]
        return self.channel

    async def _receive(self) -> None:
        try:
            while True:
                message = await self.layer.receive(self.channel)
                await self._deliver(message)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("room fan-out lost its channel layer; closing its sockets so they reconnect and sync")
            await self.reset()

    async def _deliver(self, message: dict[str, Any]) -> None:
        room_id = message["room"]
        sockets = self.sockets.get(room_id)
        if not sockets:
            await self._unsubscribe_if_unused(room_id)
            return
        for socket in list(sockets):
            try:
                for frame in message["frames"]:
                    await socket.send(text_data=frame)
            except Exception:  # that socket is closing: its consumer leaves the room
                logger.debug("could not deliver to a closing socket", exc_info=True)

    async def _unsubscribe_if_unused(self, room_id: str) -> None:
        async with self.lock:
            if not self.sockets.get(room_id) and room_id in self.subscribed:
                self.subscribed.discard(room_id)
                await self.layer.group_discard(events.room_messages_group(room_id), self.channel)

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(RENEW_SECONDS)
            async with self.lock:
                for room_id in list(self.subscribed):
                    await self.layer.group_add(events.room_messages_group(room_id), self.channel)

    async def reset(self) -> None:
        """Forget the channel and every subscription; close the sockets that relied on them."""
        sockets = {socket for room_sockets in self.sockets.values() for socket in room_sockets}
        for task in self.tasks:
            if task is not asyncio.current_task():
                task.cancel()
        self.channel, self.tasks = None, []
        self.sockets.clear()
        self.subscribed.clear()
        for socket in sockets:
            with contextlib.suppress(Exception):
                await socket.close(code=CLOSE_TRY_AGAIN)


def _bundles(frames: list[str]) -> list[list[str]]:
    bundles: list[list[str]] = [[]]
    size = 0
    for frame in frames:
        if bundles[-1] and size + len(frame) > BUNDLE_BYTES:
            bundles.append([])
            size = 0
        bundles[-1].append(frame)
        size += len(frame)
    return bundles


_fanouts: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, RoomFanout] = weakref.WeakKeyDictionary()


def room_fanout() -> RoomFanout:
    """This worker's fan-out, on its channel layer."""
    loop = asyncio.get_running_loop()
    fanout = _fanouts.get(loop)
    layer = get_channel_layer()
    if fanout is None or fanout.layer is not layer:
        fanout = _fanouts[loop] = RoomFanout(layer)
    return fanout
