"""Sends that arrive while the database is busy are stored together: one transaction, one commit,
then relayed to their rooms in the order they were stored.

All database work of a worker runs on one thread, and a send that held it for a whole transaction of its own
(round trips and the commit's wait for the disk) held up every other send. Here a send joins a queue; whenever the
thread is free, everything queued goes in as one ``store.post_envelopes`` call. An idle server still
stores a lone send at once; a busy one shares each commit among all the sends that waited for it
(docs/PERFORMANCE.md). Each send is still acknowledged only after the commit that stored it.
"""

from __future__ import annotations

import asyncio
import uuid

from asgiref.sync import sync_to_async
from django.db import DatabaseError, close_old_connections

from accounts.models import User
from chat.protocol import EnvelopeIn
from chat.sending import store
from chat.sending.publish import publish
from toolkit.errors import ApiError
from toolkit.per_loop import PerLoop

# A bound on one transaction's size: locks and the commit stay short even after a stall.
MAX_BATCH = 100


class EnvelopeWriter:
    def __init__(self) -> None:
        self.queue: list[tuple[store.Post, asyncio.Future[store.Posted]]] = []
        self.task: asyncio.Task[None] | None = None  # the flush under way, if any

    async def post(self, sender: User, room_id: uuid.UUID, envelope: EnvelopeIn) -> store.Posted:
        """Store the envelope (with whatever else is waiting); raises the ``ApiError`` that refuses it."""
        future: asyncio.Future[store.Posted] = asyncio.get_running_loop().create_future()
        self.queue.append((store.Post(sender, room_id, envelope), future))
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
                results = await store_batch(posts, await store.over_rate(posts))
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
            await publish([r for r in results if isinstance(r, store.Posted) and r.created])


def _store_batch(
    posts: list[store.Post], refused: dict[tuple[int, uuid.UUID], ApiError]
) -> list[store.Posted | ApiError]:
    """``post_envelopes`` on the worker's database thread, keeping its connection between batches.

    Channels' ``database_sync_to_async`` closes stale connections around every call, which makes Django check the
    connection with a query of its own before each batch. Here the connection is dropped only when a batch fails,
    so the next one opens a fresh one; the other database calls of the worker still do the usual clean-up.
    """
    try:
        return store.post_envelopes(posts, refused=refused)
    except DatabaseError:
        close_old_connections()
        raise


store_batch = sync_to_async(_store_batch, thread_sensitive=True)

_writers: PerLoop[EnvelopeWriter] = PerLoop(EnvelopeWriter)


def envelope_writer() -> EnvelopeWriter:
    """This worker's writer (one per event loop)."""
    return _writers.get()
