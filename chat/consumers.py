"""The chat WebSocket: wire protocol only. Parsing is in chat.protocol, decisions in services and selectors."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections.abc import Awaitable
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.db import DatabaseError
from redis.exceptions import RedisError

from accounts.audit import ClientInfo, socket_client_info
from accounts.selectors import session_is_current
from chat import events, protocol, roster, selectors, services
from chat.sending.batch import envelope_writer
from chat.sending.fanout import CLOSE_TRY_AGAIN, room_fanout
from chat.sending.presence import REFRESH_SECONDS, presence
from toolkit.errors import ApiError, ErrorCode

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_TOO_MANY_SOCKETS = 4429
# The user's keys were reset (elsewhere, or in another tab): this page's keys are void, it must log in again.
CLOSE_KEYS_RESET = 4410
# Sends of one socket waiting for their commit at once; past this the socket's next frames wait (and TCP pushes back).
SENDS_IN_FLIGHT = 32
# Redis (channel layer, presence, counters) failing under a socket: a client error or a closed socket, never a
# consumer that dies without cleaning up.
LAYER_ERRORS = (RedisError, OSError)


class ChatConsumer(AsyncJsonWebsocketConsumer):
    """One socket per tab, carrying every room of the signed-in user."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        # Channels skips ``disconnect`` when a handler raises: whatever happens, this socket stops counting.
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._forget()

    async def connect(self) -> None:
        try:
            await self._connect()
        except LAYER_ERRORS:
            logger.exception("channel layer or presence unavailable while connecting a socket")
            await self.close(code=CLOSE_TRY_AGAIN)

    async def _connect(self) -> None:
        self.user = self.scope["user"]
        self.rooms: set[str] = set()
        self.heartbeat: asyncio.Task[None] | None = None
        self.admitted = False
        self.sends_in_flight = asyncio.Semaphore(SENDS_IN_FLIGHT)
        self.sending: set[asyncio.Task[None]] = set()
        await self.accept()
        if not self.user.is_authenticated:
            # Accept, then close with a code the client can act on (go to log-in, do not retry).
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        if not await presence().admit(self.user.pk, self.channel_name, settings.SOCKETS_PER_USER):
            await self.close(code=CLOSE_TOO_MANY_SOCKETS)
            return
        self.admitted = True
        # In the user's group before reading their rooms: a room they are added to meanwhile is told to this socket.
        await self.channel_layer.group_add(events.user_group(self.user.pk), self.channel_name)
        # A key reset that committed after the session was read but before this socket joined the user's group sent
        # its end to no socket here: so the session must still be the user's current one.
        if not await database_sync_to_async(session_is_current)(self.user, self.scope.get("session")):
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        rooms = await database_sync_to_async(selectors.rooms_for)(self.user)
        for room in rooms:
            await self._join_group(room["id"])
        await self.send_json(protocol.ready_frame(self.user.pk, rooms))
        self.heartbeat = asyncio.create_task(self._keep_present())
        # The member lists just sent in `ready` are current: no query for them.
        await self._announce_presence({room["id"]: {m["id"] for m in room["members"]} for room in rooms})

    async def disconnect(self, code: int) -> None:
        if not getattr(self, "admitted", False):
            return
        rooms = set(self.rooms)
        await self._forget()
        try:
            await self.channel_layer.group_discard(events.user_group(self.user.pk), self.channel_name)
            for room_id in rooms:
                await self.channel_layer.group_discard(events.room_group(room_id), self.channel_name)
            await self._announce_presence(await database_sync_to_async(selectors.member_ids_by_room)(rooms))
        except (DatabaseError, *LAYER_ERRORS):  # groups forget a dead channel on their own
            logger.warning("could not tidy up after a closed socket", exc_info=True)

    async def _forget(self) -> None:
        """Stop this socket's heartbeat, fan-out and presence (safe to repeat, and with Redis down)."""
        if not getattr(self, "admitted", False):
            return
        self.admitted = False
        if self.heartbeat:
            self.heartbeat.cancel()
        for room_id in self.rooms:
            room_fanout().leave(room_id, self)
        try:
            await presence().disconnect(self.user.pk, self.channel_name)
        except LAYER_ERRORS:  # its entry expires on its own (presence.TTL_SECONDS)
            logger.warning("could not remove a closed socket from presence", exc_info=True)

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Channels' dispatch, without its per-message hop to the database thread.

        Channels closes stale database connections before every handler, on the one thread all database
        work of this worker shares, so every delivered message queued behind the writes. Every handler
        here that touches the database goes through ``database_sync_to_async``, which does the same
        clean-up itself, so it is skipped for the rest (measured in docs/PERFORMANCE.md).
        """
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    # --- client -> server -----------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            if text_data is None:
                raise ApiError(ErrorCode.INVALID_JSON, "Frames are JSON text.")
            frame = protocol.parse_frame(text_data)
        except ApiError as error:
            await self.send_json(protocol.error_frame(error, None))
            return
        await self._answer(frame.ref, getattr(self, f"op_{frame.op}")(frame))

    async def _answer(self, ref: str | None, request: Awaitable[None]) -> None:
        """Carry out one request; a refusal, or the database or Redis failing, is answered under its ``ref``."""
        try:
            await request
        except ApiError as error:
            await self.send_json(protocol.error_frame(error, ref))
        except (DatabaseError, *LAYER_ERRORS):
            logger.exception("database or channel layer unavailable while handling a frame")
            error = ApiError(ErrorCode.UNAVAILABLE, "The server cannot handle this right now; it will retry.")
            await self.send_json(protocol.error_frame(error, ref))

    async def op_send(self, frame: protocol.Frame) -> None:
        room_id = protocol.room_id(frame.fields)
        envelope = protocol.envelope(frame.fields)
        # Checked; stored and acknowledged without holding up this socket's next frames. A client that sends several
        # at once (a quick typist, the resends after a reconnect) has them stored together, not one commit apiece.
        await self.sends_in_flight.acquire()
        task = asyncio.create_task(self._answer(frame.ref, self._post(room_id, envelope, frame.ref)))
        self.sending.add(task)
        task.add_done_callback(self._sent)

    async def _post(self, room_id: uuid.UUID, envelope: protocol.EnvelopeIn, ref: str | None) -> None:
        posted = await envelope_writer().post(self.user, room_id, envelope)
        # Persisted (and relayed to the room by the writer, in id order): acknowledge to the sender.
        await self.send_json(protocol.ack_frame(posted.envelope.client_id, posted.envelope.id, room_id, ref))

    def _sent(self, task: asyncio.Task[None]) -> None:
        self.sending.discard(task)
        self.sends_in_flight.release()

    async def op_sync(self, frame: protocol.Frame) -> None:
        room_id = protocol.room_id(frame.fields)
        after = protocol.envelope_id(frame.fields, "after") or 0
        await self.send(text_data=await database_sync_to_async(self._page_after)(frame.ref, room_id, after))

    async def op_history(self, frame: protocol.Frame) -> None:
        room_id = protocol.room_id(frame.fields)
        before = protocol.envelope_id(frame.fields, "before", optional=True)
        limit = protocol.page_limit(frame.fields)
        await self.send(text_data=await database_sync_to_async(self._page_before)(frame.ref, room_id, before, limit))

    async def op_typing(self, frame: protocol.Frame) -> None:
        room_id = str(protocol.room_id(frame.fields))
        if room_id not in self.rooms:
            raise ApiError(ErrorCode.NOT_MEMBER, "No such room, or you are not a member.")
        await self.channel_layer.group_send(
            events.room_group(room_id), {"type": "chat.typing", "room": room_id, "user": self.user.pk}
        )

    # A page is encoded on the database thread, and cut to what one frame may carry: a page of large envelopes
    # comes back in smaller pages (``more`` stays true), never as a frame daphne refuses to send.

    def _page_after(self, ref: str | None, room_id: uuid.UUID, after: int) -> str:
        membership = selectors.membership_of(self.user, room_id)
        items, more = selectors.envelopes_after(membership, after, protocol.PAGE_MAX)
        encoded, more = protocol.page_that_fits(items, more, keep_newest=False)
        return protocol.envelopes_frame(ref, room_id, encoded, more=more, start=after <= membership.joined_after)

    def _page_before(self, ref: str | None, room_id: uuid.UUID, before: int | None, limit: int) -> str:
        membership = selectors.membership_of(self.user, room_id)
        items, more = selectors.envelopes_before(membership, before, limit)
        encoded, more = protocol.page_that_fits(items, more, keep_newest=True)
        return protocol.envelopes_frame(ref, room_id, encoded, more=more, start=not more)

    async def op_roster(self, frame: protocol.Frame) -> None:
        room_id = protocol.room_id(frame.fields)
        start = protocol.roster_from(frame.fields)
        await self.send(text_data=await database_sync_to_async(self._roster_page)(frame.ref, room_id, start))

    async def op_append(self, frame: protocol.Frame) -> None:
        room_id = protocol.room_id(frame.fields)
        entry = roster.entry(frame.fields)
        append = database_sync_to_async(services.append_entry)
        appended = await append(actor=self.user, room_id=room_id, entry=entry, client=self._client())
        await self.send_json(protocol.appended_frame(appended.answer(), frame.ref))

    def _roster_page(self, ref: str | None, room_id: uuid.UUID, start: int) -> str:
        selectors.membership_of(self.user, room_id)
        encoded, more = selectors.roster_page(room_id, start)
        return protocol.roster_page_frame(ref, room_id, encoded, more=more)

    def _client(self) -> ClientInfo:
        return socket_client_info(self.scope)

    # --- channel layer -> client ------------------------------------------------------

    async def roster_entries(self, event: dict[str, Any]) -> None:
        if event["room"] in self.rooms:
            await self.send_json(protocol.roster_frame(event["room"], event["entries"]))

    async def chat_typing(self, event: dict[str, Any]) -> None:
        if event["user"] != self.user.pk and event["room"] in self.rooms:
            await self.send_json(protocol.typing_frame(event["room"], event["user"]))

    async def chat_presence(self, event: dict[str, Any]) -> None:
        if event["room"] in self.rooms:
            await self.send_json(protocol.presence_frame(event["room"], event["online"]))

    async def keys_changed(self, event: dict[str, Any]) -> None:
        if event["room_id"] in self.rooms:
            await self.send_json(protocol.keys_frame(event["user"]))

    async def session_ended(self, event: dict[str, Any]) -> None:
        """The user's keys were reset: every socket of theirs closes, saying why (their sessions ended with it)."""
        await self.close(code=CLOSE_KEYS_RESET)

    async def room_added(self, event: dict[str, Any]) -> None:
        room = await self._send_room("added", event["room_id"])
        if room is not None:
            # Only the newcomer's sockets announce: everyone else's presence is already known to the room.
            await self._announce_presence({room["id"]: {m["id"] for m in room["members"]}})

    async def room_updated(self, event: dict[str, Any]) -> None:
        await self._send_room("updated", event["room_id"])

    async def room_removed(self, event: dict[str, Any]) -> None:
        room_id = event["room_id"]
        if room_id in self.rooms:
            await self._leave_group(room_id)
            await self.send_json(protocol.room_frame("removed", {"id": room_id}))

    async def _send_room(self, kind: str, room_id: str) -> dict[str, Any] | None:
        read = database_sync_to_async(selectors.room_for)
        try:
            room = await read(self.user, room_id)
            if await self._join_group(room_id):
                # Read again once in the room's group: a member added between the first read and the join was
                # told to the group before this socket was in it, and the page would have kept the older list.
                room = await read(self.user, room_id)
        except ApiError:
            return None  # no longer a member: the user group brings the removal
        await self.send_json(protocol.room_frame(kind, room))
        return room

    async def _join_group(self, room_id: str) -> bool:
        """Join the room's group and fan-out; False if this socket was in them already."""
        if room_id in self.rooms:
            return False
        self.rooms.add(room_id)
        await self.channel_layer.group_add(events.room_group(room_id), self.channel_name)
        await room_fanout().join(room_id, self)
        return True

    async def _leave_group(self, room_id: str) -> None:
        self.rooms.discard(room_id)
        room_fanout().leave(room_id, self)
        await self.channel_layer.group_discard(events.room_group(room_id), self.channel_name)

    # --- presence ---------------------------------------------------------------------

    async def _announce_presence(self, members_by_room: dict[str, set[int]]) -> None:
        """Tell each room who of its members is online now (one presence lookup for all of them)."""
        online = await presence().online(set().union(*members_by_room.values()))
        for room_id, members in members_by_room.items():
            event = {"type": "chat.presence", "room": room_id, "online": sorted(members & online)}
            await self.channel_layer.group_send(events.room_group(room_id), event)

    async def _keep_present(self) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            # Sockets that connected together (everyone, after a restart) must not all refresh together: spread out,
            # each refresh is a Redis round trip that holds up the worker's messages (docs/DECISIONS.md).
            await asyncio.sleep(random.uniform(0, REFRESH_SECONDS))  # noqa: S311 - not a secret
            while True:
                await presence().connect(self.user.pk, self.channel_name)
                await asyncio.sleep(REFRESH_SECONDS)
