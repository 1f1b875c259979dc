"""The chat WebSocket: wire protocol only. Parsing is in chat.protocol, decisions in services and selectors."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import uuid
from collections.abc import Awaitable
from typing import Any

from autobahn.exception import Disconnected
from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.db import DatabaseError
from redis.exceptions import RedisError

from accounts.audit import ClientInfo, socket_client_info
from accounts.selectors import session_is_current
from chat import events, protocol, read_positions, roster, selectors, services
from chat.sending.batch import envelope_writer
from chat.sending.fanout import CLOSE_TRY_AGAIN, room_fanout
from chat.sending.presence import REFRESH_SECONDS, presence
from toolkit.errors import ApiError, ErrorCode
from toolkit.token_bucket import KeptBuckets, TokenBucket

logger = logging.getLogger(__name__)

# Not signed in: no session, or the session was logged out (in another tab of the same browser).
CLOSE_UNAUTHENTICATED = 4401
# The account was switched off (``is_active`` false, by staff): the page says so and does not retry.
CLOSE_ACCOUNT_DISABLED = 4403
CLOSE_TOO_MANY_SOCKETS = 4429
# The user's keys were reset (elsewhere, or in another tab): this page's keys are void, it must log in again.
CLOSE_KEYS_RESET = 4410
# The password was changed in another session, which ended this one: log in again, with the new password.
CLOSE_PASSWORD_CHANGED = 4411
# Why a session ended (the ``reason`` of a ``session.ended`` event), and the code its sockets close with.
SESSION_END_CODES = {
    "keys_reset": CLOSE_KEYS_RESET,
    "logged_out": CLOSE_UNAUTHENTICATED,
    "replaced": CLOSE_UNAUTHENTICATED,
    "password_changed": CLOSE_PASSWORD_CHANGED,
    "deactivated": CLOSE_ACCOUNT_DISABLED,
}
# Put in a WebSocket's scope by the server (securechat.patches.socket_output): how much of this socket's output is
# still in the worker, not yet taken by the kernel. Absent (in-process tests), nothing is measured.
SOCKET_OUTPUT = "socket_output"
# A socket closed because its unsent output passed the bound has this long to read it, and the close, before the
# server drops the connection.
DRAIN_SECONDS = 10.0
# Requests counted per socket, and the setting that says how many a minute (docs/PROTOCOL.md, "Limits per socket").
RATE_LIMITED_OPS = {
    "history": "SOCKET_HISTORY_PER_MINUTE",
    "sync": "SOCKET_SYNC_PER_MINUTE",
    "typing": "SOCKET_TYPING_PER_MINUTE",
    "roster": "SOCKET_ROSTER_PER_MINUTE",
    "append": "SOCKET_APPEND_PER_MINUTE",
    "rooms": "SOCKET_ROOMS_PER_MINUTE",
    "invitations": "SOCKET_ROOMS_PER_MINUTE",
    "read": "SOCKET_READ_PER_MINUTE",
}
# Each session's request buckets in this worker, beyond the life of its sockets: as much as this many sockets' own.
KEPT_BUCKETS = KeptBuckets()
SESSION_SOCKETS = 4
# Sends of one socket waiting for their commit at once; past this the socket's next frames wait (and TCP pushes back).
SENDS_IN_FLIGHT = 32
# Redis (channel layer, presence, counters) failing under a socket: a client error or a closed socket, never a
# consumer that dies without cleaning up.
LAYER_ERRORS = (RedisError, OSError)


class ChatConsumer(AsyncJsonWebsocketConsumer):
    """One socket per tab, carrying every room of the signed-in user."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        # Every frame and close goes out through ``_send_bounded``; once a close went out, nothing more does, and
        # nothing the client sends is read.
        self.ending = False
        self.output = scope.get(SOCKET_OUTPUT)
        self.unsent_max = settings.SOCKET_UNSENT_MAX_BYTES
        self.send_to_server = send
        self.tidying: asyncio.Task[None] | None = None
        if self.output is not None:
            # The pongs the server writes itself, answering the client's pings, keep to the same bound.
            self.output.bound_pongs(self.unsent_max, CLOSE_TRY_AGAIN, DRAIN_SECONDS)
        # Channels skips ``disconnect`` when a handler raises: whatever happens, this socket stops counting.
        try:
            await super().__call__(scope, receive, self._send_bounded)
        finally:
            await self._forget()

    async def _send_bounded(self, message: dict[str, Any]) -> None:
        """The server's ``send``, for this socket's every frame and close: a frame that would take the output still
        unsent past ``SOCKET_UNSENT_MAX_BYTES`` closes the socket instead (4013: the client reconnects and syncs), so
        a client that does not read holds at most that much of the worker's memory."""
        kind = message["type"]
        if kind == "websocket.send":
            if self.ending:
                return
            if self.output is not None and self._past_bound(message):
                message = self._close_for_backlog()
        elif kind == "websocket.close":
            if self.ending:
                return
            self.ending = True
        try:
            await self.send_to_server(message)
        except Disconnected:  # the client went away while this was on its way (a room's event, say): nothing to send
            self.ending = True

    async def send(self, text_data: str | None = None, bytes_data: bytes | None = None, close: bool = False) -> None:
        """A text frame straight to ``_send_bounded``. The fan-out sends each member's copy of a message through here,
        and Channels' two layers in between cost more than the bound's check (docs/PERFORMANCE.md)."""
        if text_data is None or close:
            await super().send(text_data, bytes_data, close)
        else:
            await self._send_bounded({"type": "websocket.send", "text": text_data})

    def _close_for_backlog(self) -> dict[str, Any]:
        self.ending = True
        logger.warning("closing a socket of user %s: unsent output past %d bytes", self._who(), self.unsent_max)
        self.output.drain_before_close(DRAIN_SECONDS)
        # Not awaited here: this may be a room's fan-out, which must not wait on one socket's tidying up.
        self.tidying = asyncio.create_task(self.disconnect(CLOSE_TRY_AGAIN))
        return {"type": "websocket.close", "code": CLOSE_TRY_AGAIN}

    def _past_bound(self, message: dict[str, Any]) -> bool:
        unsent = self.output.unsent()
        # Frames are JSON, which json.dumps keeps to ASCII: characters are bytes.
        size = len(message.get("text") or message.get("bytes") or "")
        return unsent > 0 and unsent + size > self.unsent_max

    def _who(self) -> object:
        user = getattr(self, "user", None)
        return getattr(user, "pk", None)

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
        self.typing_refused = False  # told already that its typing notices are dropped
        session = self.scope.get("session")
        # How ``session.ended`` events name this socket's session (its key may change: a password change cycles it).
        self.session_tag = events.session_tag(getattr(session, "session_key", None))
        # In memory, no Redis round trip for a request (docs/DECISIONS.md): one bucket per socket, and one its session
        # keeps in this worker for SESSION_SOCKETS sockets' worth, so reconnecting after each burst gains nothing.
        holder = self.session_tag or self.channel_name
        self.buckets = {
            op: (
                TokenBucket(getattr(settings, name)),
                KEPT_BUCKETS.get(holder, op, SESSION_SOCKETS * getattr(settings, name)),
            )
            for op, name in RATE_LIMITED_OPS.items()
        }
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
        await self.channel_layer.group_add(events.session_group(self.session_tag), self.channel_name)
        # A session end (key reset, log-out, password change, account switched off, another log-in) that committed
        # after the session was read but before this socket joined the groups was told to no socket here: so the
        # session must still be the user's current one.
        if not await database_sync_to_async(session_is_current)(self.user, self.scope.get("session")):
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        # Every room's group and fan-out, from ids alone; the rooms themselves go out in pages, the first in `ready`:
        # no number of rooms makes a frame daphne refuses to send.
        members = await database_sync_to_async(selectors.members_of_my_rooms)(self.user)
        for room_id in members:
            await self._join_group(room_id)
        await self.send(text_data=await database_sync_to_async(self._ready)())
        self.heartbeat = asyncio.create_task(self._keep_present())
        await self._announce_presence(members)

    def _ready(self) -> str:
        encoded, more, after = selectors.my_rooms_page(self.user, 0)
        return protocol.ready_frame(self.user.pk, encoded, more=more, after=after)

    async def disconnect(self, code: int) -> None:
        if not getattr(self, "admitted", False):
            return
        rooms = set(self.rooms)
        await self._forget()
        try:
            await self.channel_layer.group_discard(events.user_group(self.user.pk), self.channel_name)
            await self.channel_layer.group_discard(events.session_group(self.session_tag), self.channel_name)
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
        if self.ending:
            return  # closed by the server (its session ended, say): what the client still sends is not read
        try:
            if text_data is None:
                raise ApiError(ErrorCode.INVALID_JSON, "Frames are JSON text.")
            frame = protocol.parse_frame(text_data)
        except ApiError as error:
            await self.send_json(protocol.error_frame(error, None))
            return
        buckets = self.buckets.get(frame.op)
        if buckets is not None:
            wait = max(bucket.take() for bucket in buckets)
            if wait:
                await self._over_rate(frame, wait)
                return
            if frame.op == "typing":
                self.typing_refused = False
        await self._answer(frame.ref, getattr(self, f"op_{frame.op}")(frame))

    async def _over_rate(self, frame: protocol.Frame, wait: float) -> None:
        """A request over its socket's rate: ``rate_limited``. A typing notice is dropped, not relayed to the room,
        and the client told of it once until one is relayed again."""
        retry_after = max(1, math.ceil(wait))
        if frame.op == "typing":
            if self.typing_refused:
                return
            self.typing_refused = True
            detail = f"Too many typing notices: they are not relayed for the next {retry_after} s."
        else:
            detail = f"Too many {frame.op} requests on this connection; try again in {retry_after} s."
        error = ApiError(ErrorCode.RATE_LIMITED, detail, op=frame.op, retry_after=retry_after)
        await self.send_json(protocol.error_frame(error, frame.ref))

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

    async def op_read(self, frame: protocol.Frame) -> None:
        room_id = protocol.room_id(frame.fields)
        up_to = protocol.envelope_id(frame.fields, "up_to") or 0
        kept = await database_sync_to_async(read_positions.mark_read)(self.user, room_id, up_to)
        await self.send_json(protocol.read_frame(str(room_id), kept, frame.ref))

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

    async def op_rooms(self, frame: protocol.Frame) -> None:
        after = protocol.rooms_cursor(frame.fields)
        await self.send(text_data=await database_sync_to_async(self._rooms_page)(frame.ref, after))

    def _rooms_page(self, ref: str | None, after: int) -> str:
        encoded, more, after = selectors.my_rooms_page(self.user, after)
        return protocol.rooms_frame(ref, encoded, more=more, after=after)

    async def op_invitations(self, frame: protocol.Frame) -> None:
        after = protocol.rooms_cursor(frame.fields)
        await self.send(text_data=await database_sync_to_async(self._invitations_page)(frame.ref, after))

    def _invitations_page(self, ref: str | None, after: int) -> str:
        encoded, more, after = selectors.my_invitations_page(self.user, after)
        return protocol.invitations_frame(ref, encoded, more=more, after=after)

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
        # An invitee reads the roster too: who invites them, to what (its sealed name), and to decline it.
        selectors.membership_of(self.user, room_id, pending_too=True)
        encoded, more = selectors.roster_page(room_id, start)
        return protocol.roster_page_frame(ref, room_id, encoded, more=more)

    def _client(self) -> ClientInfo:
        return socket_client_info(self.scope)

    # --- channel layer -> client ------------------------------------------------------

    async def roster_entries(self, event: dict[str, Any]) -> None:
        if event["room"] in self.rooms:
            await self.send_json(protocol.roster_frame(event["room"], event["entries"]))

    async def read_moved(self, event: dict[str, Any]) -> None:
        if event["room"] in self.rooms:
            await self.send_json(protocol.read_frame(event["room"], event["up_to"]))

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
        """Sessions of the user ended (chat.receivers): the sockets of those sessions close, saying why, and leave
        their rooms and presence at once. A key reset or an account switched off ends every session; a log-out, the
        one it names; a password change, all but the one that made it (its sockets stay, under its new key); another
        user's log-in in the same browser, the one it replaced."""
        reason = event.get("reason", "keys_reset")
        if reason in ("logged_out", "replaced") and event.get("session") != self.session_tag:
            return
        if reason == "password_changed" and self.session_tag is not None:
            kept = event.get("kept") or ()
            if self.session_tag in kept:
                await self._follow_session(kept[-1])
                return
        await self.close(code=SESSION_END_CODES.get(reason, CLOSE_KEYS_RESET))
        await self.disconnect(CLOSE_UNAUTHENTICATED)

    async def _follow_session(self, tag: str) -> None:
        """This socket's session goes on under a new key: events name it by the new key's digest from now on."""
        await self.channel_layer.group_add(events.session_group(tag), self.channel_name)
        await self.channel_layer.group_discard(events.session_group(self.session_tag), self.channel_name)
        self.session_tag = tag

    async def room_added(self, event: dict[str, Any]) -> None:
        room = await self._send_room("added", event["room_id"])
        if room is not None:
            # An invitation accepted is one no longer.
            await self.send_json(protocol.invitation_frame("removed", {"id": room["id"]}))
            # Only the newcomer's sockets announce: everyone else's presence is already known to the room.
            accepted = {m["id"] for m in room["members"] if not m.get("pending")}
            await self._announce_presence({room["id"]: accepted})

    async def invitation_added(self, event: dict[str, Any]) -> None:
        """Invited: told as an invitation, and nothing more; this socket does not join the room."""
        room = await database_sync_to_async(selectors.invitation_for)(self.user, event["room_id"])
        if room is not None:
            await self.send_json(protocol.invitation_frame("added", room))

    async def invitation_removed(self, event: dict[str, Any]) -> None:
        await self.send_json(protocol.invitation_frame("removed", {"id": event["room_id"]}))

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
