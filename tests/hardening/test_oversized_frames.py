"""A WebSocket message over the limit is refused by the server itself (daphne), before the app parses it.

A real daphne, started as the Makefile starts it (``--websocket-max-message-size``), and a real WebSocket client
signed in with a session cookie, as a browser tab is.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
from django.conf import settings as django_settings
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from accounts.models import User
from chat.models import Envelope, Room
from chat.protocol import MAX_PADDED_PAYLOAD, PAD_BLOCK
from chat.tests.factories import envelope, make_user, send_frame, session_cookie
from chat.tests.rosters import make_room
from tests.servers import Server

pytestmark = pytest.mark.django_db(transaction=True)

LIMIT = django_settings.WEBSOCKET_MAX_MESSAGE_BYTES
MESSAGE_TOO_BIG = 1009
ABNORMAL_CLOSURE = 1006  # what a client reports when the connection ends without a close frame
WAIT = 10.0


@pytest.fixture
def people_and_room(transactional_db: None, settings: Any) -> tuple[User, User, Room]:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # not under test; Argon2 is slow
    alice, bob = make_user(f"alice{uuid.uuid4().hex[:8]}"), make_user(f"bob{uuid.uuid4().hex[:8]}")
    room, _ = make_room(alice, bob)
    return alice, bob, room


@pytest.fixture
def alice_and_room(people_and_room: tuple[User, User, Room]) -> tuple[User, Room]:
    alice, _, room = people_and_room
    return alice, room


def padded_send(room: Room, alice: User, size: int) -> str:
    """A send frame of exactly ``size`` UTF-8 bytes whose ciphertext is too long for any envelope.

    JSON allows whitespace after the value, so the frame is padded to the byte.
    """
    env = envelope(room, alice.pk, [alice.pk])
    env["ciphertext"] = "A" * (size - 1_000)
    text = json.dumps({"op": "send", "room": str(room.id), "envelope": env, "ref": "big"})
    assert len(text.encode()) <= size
    return text + " " * (size - len(text.encode()))


async def next_of(ws: ClientConnection, kind: str) -> dict[str, Any]:
    """The next frame of type ``kind``; presence and typing frames arrive at any time."""
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
        if frame["type"] == kind:
            return frame


def open_socket(server: Server, cookie: str) -> Any:
    return connect(
        f"{server.ws_url}/ws/chat/",
        origin=server.url,  # type: ignore[arg-type]
        additional_headers={"Cookie": cookie},
        open_timeout=WAIT,
        max_size=None,
    )


async def frames_until_closed(ws: ClientConnection) -> tuple[list[dict[str, Any]], ConnectionClosed]:
    frames = []
    while True:
        try:
            frames.append(json.loads(await asyncio.wait_for(ws.recv(), WAIT)))
        except ConnectionClosed as closed:
            return frames, closed


async def oversized_then_fresh(server: Server, cookie: str, room: Room, alice: User) -> int:
    """Send one message a byte over the limit; the close code the client saw (1006: no close frame at all)."""
    async with open_socket(server, cookie) as ws:
        await next_of(ws, "ready")
        await ws.send(padded_send(room, alice, LIMIT + 1))
        frames, closed = await frames_until_closed(ws)
        # The app would answer this frame with a too_large error (see the test at the limit): it never saw it.
        assert [frame for frame in frames if frame["type"] in {"error", "ack", "messages"}] == []
        code = closed.rcvd.code if closed.rcvd is not None else ABNORMAL_CLOSURE

    # The worker is fine: the next socket is served at once.
    async with open_socket(server, cookie) as ws:
        await next_of(ws, "ready")
        await ws.send(json.dumps({"op": "history", "room": str(room.id), "ref": "after"}))
        answer = await next_of(ws, "envelopes")
        assert (answer["ref"], answer["items"]) == ("after", [])
    return code


async def at_the_limit(server: Server, cookie: str, room: Room, alice: User) -> None:
    async with open_socket(server, cookie) as ws:
        await next_of(ws, "ready")
        await ws.send(padded_send(room, alice, LIMIT))
        error = await next_of(ws, "error")
        assert (error["code"], error["ref"], error["field"]) == ("too_large", "big", "envelope.ciphertext")
        # Still open after the app's refusal.
        await ws.send(json.dumps({"op": "history", "room": str(room.id), "ref": "h"}))
        assert (await next_of(ws, "envelopes"))["ref"] == "h"


def test_a_message_over_the_limit_closes_the_socket_before_the_app_sees_it(
    live_daphne: Server, alice_and_room: tuple[User, Room]
) -> None:
    alice, room = alice_and_room
    log_before = len(live_daphne.log())
    code = asyncio.run(oversized_then_fresh(live_daphne, session_cookie(alice), room, alice))
    # Closed by the server. Autobahn under daphne drops the TCP connection (its failByDrop default), which a client
    # sees as 1006; 1009 is the code should daphne ever send a close frame instead.
    assert code in {MESSAGE_TOO_BIG, ABNORMAL_CLOSURE}
    assert Envelope.objects.count() == 0
    assert "Traceback" not in live_daphne.log()[log_before:]


def test_a_message_at_the_limit_is_parsed_and_refused_by_the_app(
    live_daphne: Server, alice_and_room: tuple[User, Room]
) -> None:
    alice, room = alice_and_room
    asyncio.run(at_the_limit(live_daphne, session_cookie(alice), room, alice))
    assert Envelope.objects.count() == 0


async def largest_sends_at_once(
    server: Server, alice: User, bob: User, room: Room, cookies: tuple[str, str]
) -> tuple[list[str], list[dict]]:
    """Alice sends eight of the largest envelopes at once; the raw frames and envelopes that reach bob."""
    members = sorted([alice.pk, bob.pk])
    largest = MAX_PADDED_PAYLOAD // PAD_BLOCK
    envs = [envelope(room, alice.pk, members, blocks=largest) for _ in range(8)]
    frames: list[str] = []
    received: list[dict] = []
    async with open_socket(server, cookies[0]) as sender, open_socket(server, cookies[1]) as reader:
        await next_of(sender, "ready")
        await next_of(reader, "ready")
        for env in envs:  # two of them are already over the limit of one WebSocket message
            await sender.send(json.dumps(send_frame(room.id, env)))
        while len(received) < len(envs):
            frame = await asyncio.wait_for(reader.recv(), WAIT)
            if json.loads(frame)["type"] == "messages":
                frames.append(frame)
                received += json.loads(frame)["envelopes"]
    assert sorted(env["client_id"] for env in received) == sorted(env["client_id"] for env in envs)
    return frames, received


def test_sends_stored_together_beyond_one_frames_limit_reach_the_room_whole(
    live_daphne: Server, people_and_room: tuple[User, User, Room]
) -> None:
    alice, bob, room = people_and_room
    log_before = len(live_daphne.log())
    cookies = (session_cookie(alice), session_cookie(bob))
    frames, received = asyncio.run(largest_sends_at_once(live_daphne, alice, bob, room, cookies))
    # daphne refuses to send a message over its limit: a commit's envelopes are split over frames that fit.
    assert all(len(frame.encode()) <= LIMIT for frame in frames)
    assert [env["id"] for env in received] == sorted(env["id"] for env in received)
    assert Envelope.objects.count() == 8
    assert "could not deliver" not in live_daphne.log()[log_before:]


async def read_back(server: Server, cookie: str, room: Room, op: str) -> tuple[list[str], list[int]]:
    """Every stored envelope of the room through ``history`` (paging back from the latest) or ``sync`` (from the
    start): the raw answer frames and the envelope ids, in the order the pages give them."""
    frames: list[str] = []
    pages: list[list[int]] = []
    cursor: int | None = None if op == "history" else 0
    async with open_socket(server, cookie) as ws:
        await next_of(ws, "ready")
        while True:
            position = {"before": cursor, "limit": 50} if op == "history" else {"after": cursor}
            await ws.send(json.dumps({"op": op, "room": str(room.id), "ref": "page", **position}))
            while True:
                frame = await asyncio.wait_for(ws.recv(), WAIT)
                if json.loads(frame)["type"] in {"envelopes", "error"}:
                    break
            answer = json.loads(frame)
            assert answer["type"] == "envelopes", answer
            frames.append(frame)
            ids = [item["id"] for item in answer["items"]]
            if op == "history":
                pages.insert(0, ids)
            else:
                pages.append(ids)
            if not answer["more"]:
                return frames, [envelope_id for page in pages for envelope_id in page]
            cursor = ids[0] if op == "history" else ids[-1]


@pytest.mark.parametrize("op", ["history", "sync"])
def test_history_and_sync_of_envelopes_beyond_one_frames_limit_come_back_whole_in_pages_that_fit(
    live_daphne: Server, people_and_room: tuple[User, User, Room], op: str
) -> None:
    alice, bob, room = people_and_room
    cookies = (session_cookie(alice), session_cookie(bob))
    asyncio.run(largest_sends_at_once(live_daphne, alice, bob, room, cookies))
    stored = list(Envelope.objects.order_by("id").values_list("id", flat=True))
    frames, ids = asyncio.run(read_back(live_daphne, cookies[1], room, op))
    assert ids == stored
    assert all(len(frame.encode()) <= LIMIT for frame in frames)
