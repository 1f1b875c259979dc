"""A client that asks for a lot and never reads cannot make a worker hold its answers: past
``SOCKET_UNSENT_MAX_BYTES`` of unsent output, its socket is closed with 4013 ("try again": the page reconnects and
syncs). A real daphne, and a client on a raw TCP socket with a tiny receive buffer, so the kernel takes little of
what the server writes. The memory this saves is measured by ``python -m bench.backpressure``, not here.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from accounts.models import User
from chat.models import Room
from chat.tests.factories import make_user, session_cookie, store_envelopes
from chat.tests.rosters import make_room
from tests.rawsocket import Closed, RawSocket
from tests.servers import Server, daphne, server_env

pytestmark = pytest.mark.django_db(transaction=True)

BOUND = 512 * 1024
TRY_AGAIN = 4013
WAIT = 20.0
# Envelopes of about 6 KiB as JSON: a page of 100 is cut to one frame's worth, about 250 KiB.
CIPHERTEXT_BYTES = 16 * 256 + 16
REQUESTS = 40


@pytest.fixture
def bounded_server(transactional_db: None, static_root: Path, server_logs: Path) -> Iterator[Server]:
    with daphne(server_env(static_root, SOCKET_UNSENT_MAX_BYTES=str(BOUND)), server_logs, "unsent-bound") as server:
        yield server


@pytest.fixture
def scene(transactional_db: None, settings: Any) -> tuple[User, User, Room]:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # not under test; Argon2 is slow
    alice, bob = make_user(f"alice{uuid.uuid4().hex[:8]}"), make_user(f"bob{uuid.uuid4().hex[:8]}")
    room, _ = make_room(alice, bob)
    store_envelopes(room, alice, 100, ciphertext_bytes=CIPHERTEXT_BYTES)
    return alice, bob, room


async def presence_of(ws: ClientConnection, room: Room, user: User, *, online: bool) -> None:
    """Until the room's presence, as ``ws`` hears it, has ``user`` online (or not)."""
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
        if frame["type"] == "presence" and frame["room"] == str(room.id) and (user.pk in frame["online"]) == online:
            return


async def flood_without_reading(
    server: Server, scene: tuple[User, User, Room], cookies: tuple[str, str]
) -> tuple[list[dict], Closed]:
    alice, _, room = scene
    alice_cookie, bob_cookie = cookies
    async with connect(
        f"{server.ws_url}/ws/chat/", origin=server.url, additional_headers={"Cookie": bob_cookie}, max_size=None
    ) as bob_ws:
        hostile = await asyncio.to_thread(
            RawSocket.open, server.url, "/ws/chat/", origin=server.url, cookie=alice_cookie, receive_buffer=4096
        )
        try:
            await presence_of(bob_ws, room, alice, online=True)  # her socket is served
            for index in range(REQUESTS):  # within the history rate: each is answered, none is read
                hostile.send_json({"op": "history", "room": str(room.id), "limit": 100, "ref": f"h{index}"})
            # The server gives up on her socket: it leaves the room's presence at once, the close decided.
            await presence_of(bob_ws, room, alice, online=False)
            return await asyncio.to_thread(hostile.frames_until_closed)
        finally:
            hostile.close()


def test_a_socket_that_does_not_read_its_answers_is_closed_with_try_again(
    bounded_server: Server, scene: tuple[User, User, Room]
) -> None:
    log_before = len(bounded_server.log())
    alice, bob, _ = scene
    cookies = (session_cookie(alice), session_cookie(bob))
    frames, closed = asyncio.run(flood_without_reading(bounded_server, scene, cookies))
    assert closed.code == TRY_AGAIN
    answers = [frame for frame in frames if frame["type"] == "envelopes"]
    # What was written before the close still arrives, in order; the rest was never served.
    assert [frame["ref"] for frame in answers] == [f"h{index}" for index in range(len(answers))]
    assert 0 < len(answers) < REQUESTS
    unsent_at_most = BOUND + 256 * 1024 + 8 * 1024 * 1024  # the bound, one frame, and what the kernels buffer
    assert sum(len(json.dumps(frame)) for frame in frames) < unsent_at_most
    log = bounded_server.log()[log_before:]
    assert "unsent output past" in log and "Traceback" not in log
