"""Publish: tell each room what was stored, once per batch, after the senders have their acks."""

from __future__ import annotations

import asyncio
import json
import logging

from chat import protocol, selectors
from chat.sending.fanout import room_fanout
from chat.sending.store import Posted

logger = logging.getLogger(__name__)

RETRY_SECONDS = 0.2


async def publish(stored: list[Posted]) -> None:
    """Tell each room of what was stored: ``messages`` frames, in id order, each naming the id it follows (a
    client syncs from the newest id it has, so it must know when an earlier commit has not reached it yet), so
    a member's socket writes one frame per batch, not one per message."""
    if not stored:
        return
    by_room: dict[str, list[Posted]] = {}
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
