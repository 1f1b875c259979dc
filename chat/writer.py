"""Sends that arrive while the database is busy are stored together: one transaction, one commit,
then relayed to their rooms in the order they were stored.

All database work of a worker runs on one thread, and a send used to hold it for a whole transaction of its
own (about 10 ms of round trips and the commit's wait for the disk). Here a send joins a queue; whenever the
thread is free, everything queued goes in as one ``services.post_envelopes`` call. An idle server still
stores a lone send at once; a busy one shares each commit among all the sends that waited for it
(docs/PERFORMANCE.md). Each send is still acknowledged only after the commit that stored it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
import weakref

from asgiref.sync import sync_to_async
from django.db import DatabaseError, close_old_connections

from accounts.models import User
from chat import protocol, selectors, services
from chat.fanout import room_fanout
from chat.protocol import EnvelopeIn
from securechat.errors import ApiError

logger = logging.getLogger(__name__)

# A bound on one transaction's size: locks and the commit stay short even after a stall.
MAX_BATCH = 100
RETRY_SECONDS = 0.2


class EnvelopeWriter:
    def __init__(self) -> None:
        self.queue: list[tuple[services.Post, asyncio.Future[services.Posted]]] = []
        self.task: asyncio.Task[None] | None = None  # the flush under way, if any

    async def post(self, sender: User, room_id: uuid.UUID, envelope: EnvelopeIn) -> services.Posted:
        """Store the envelope (with whatever else is waiting); raises the ``ApiError`` that refuses it."""
        future: asyncio.Future[services.Posted] = asyncio.get_running_loop().create_future()
        self.queue.append((services.Post(sender, room_id, envelope), future))
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        # Runs until the queue is empty; a send queued meanwhile is taken by the same loop (no await between the
        # last check and the task's end, so none is left behind).
        while self.queue:
            batch, self.queue = self.queue[:MAX_BATCH], self.queue[MAX_BATCH:]
            posts = [post for post, _ in batch]
            try:
                results = await store(posts, await services.over_rate(posts))
            except Exception as error:  # the database is unavailable: every send of the batch is told
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if future.done():  # its socket went away; a resend finds it stored
                    continue
                if isinstance(result, ApiError):
                    future.set_exception(result)
                else:
                    future.set_result(result)
            # One turn of the loop: the senders' tasks, woken above, send their acks before the room hears of it.
            await asyncio.sleep(0)
            await self._publish([r for r in results if isinstance(r, services.Posted) and r.created])

    async def _publish(self, stored: list[services.Posted]) -> None:
        """Tell each room of what was stored: ``messages`` frames, in id order, each naming the id it follows (a
        client syncs from the newest id it has, so it must know when an earlier commit has not reached it yet), so
        a member's socket writes one frame per batch, not one per message."""
        if not stored:
            return
        by_room: dict[str, list[services.Posted]] = {}
        for posted in sorted(stored, key=lambda p: p.envelope.id):
            by_room.setdefault(str(posted.envelope.room_id), []).append(posted)
        frames = [
            (room, frame)
            for room, posts in by_room.items()
            for frame in protocol.messages_frames(
                room,
                [json.dumps(selectors.envelope_json(p.envelope)) for p in posts],
                after=[p.after for p in posts],
            )
        ]
        for attempt in (1, 2):
            try:
                # Every frame at once (one Redis round trip, all or none): a retry does not send any twice.
                await room_fanout().publish(frames)
                return
            except Exception:
                logger.warning("could not relay stored envelopes (attempt %d)", attempt, exc_info=True)
                await asyncio.sleep(RETRY_SECONDS)
        # Relaying is best-effort and the database is the truth: this worker's sockets reconnect and sync.
        await room_fanout().reset()


def _store(
    posts: list[services.Post], refused: dict[tuple[int, uuid.UUID], ApiError]
) -> list[services.Posted | ApiError]:
    """``post_envelopes`` on the worker's database thread, keeping its connection between batches.

    Channels' ``database_sync_to_async`` closes stale connections around every call, which makes Django check the
    connection with a query of its own before each batch. Here the connection is dropped only when a batch fails,
    so the next one opens a fresh one; the other database calls of the worker still do the usual clean-up.
    """
    try:
        return services.post_envelopes(posts, refused=refused)
    except DatabaseError:
        close_old_connections()
        raise


store = sync_to_async(_store, thread_sensitive=True)

_writers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, EnvelopeWriter] = weakref.WeakKeyDictionary()


def envelope_writer() -> EnvelopeWriter:
    """This worker's writer (one per event loop)."""
    loop = asyncio.get_running_loop()
    if loop not in _writers:
        _writers[loop] = EnvelopeWriter()
    return _writers[loop]
