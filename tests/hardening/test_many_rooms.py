"""No number of rooms closes a socket: anyone can put anyone in rooms, and a list of all of them in ``ready`` passed
daphne's WebSocket message limit at about 900, so the victim's socket closed (1011) on every try, for good.

A real daphne, started as the Makefile starts it (``--websocket-max-message-size``), and a real WebSocket client
signed in as the victim: ``ready`` carries the first page of her rooms, ``rooms`` the rest, every frame within the
limit, and the socket still answers afterwards.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
from django.conf import settings as django_settings
from websockets.asyncio.client import connect

from accounts.models import User
from chat.models import Room
from chat.selectors import rooms_for
from chat.tests.factories import bulk_rooms, make_user, session_cookie
from tests.servers import Server

pytestmark = pytest.mark.django_db(transaction=True)

LIMIT = django_settings.WEBSOCKET_MAX_MESSAGE_BYTES
ROOMS = 1_000
# Joining 1 000 rooms' groups and fan-out comes before `ready`: seconds on a busy machine.
WAIT = 60.0


@pytest.fixture
def victim_in_many_rooms(transactional_db: None, settings: Any) -> tuple[User, list[Room]]:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # not under test; Argon2 is slow
    suffix = uuid.uuid4().hex[:8]
    victim = make_user(f"alice{suffix}")
    # The attacker picks a long name: every room that lists them costs the victim's list more.
    attacker = make_user(f"mallory{'m' * 17}{suffix}")  # 32 characters, the most
    rooms = bulk_rooms(attacker, [attacker, victim], ROOMS)
    # The attack as it was: her whole list is more than one frame may carry.
    assert len(json.dumps(rooms_for(victim))) > LIMIT
    return victim, rooms


async def next_frame(ws: Any, kind: str) -> tuple[dict[str, Any], int]:
    """The next frame of type ``kind`` (presence arrives at any time), and its size in bytes."""
    while True:
        text = await asyncio.wait_for(ws.recv(), WAIT)
        frame = json.loads(text)
        if frame["type"] == kind:
            return frame, len(text.encode())


async def every_room_then_a_sync(server: Server, cookie: str, rooms: list[Room]) -> tuple[list[dict], list[int]]:
    async with connect(
        f"{server.ws_url}/ws/chat/",
        origin=server.url,
        additional_headers={"Cookie": cookie},
        open_timeout=WAIT,
        max_size=None,  # the client takes whatever comes: the limit under test is the server's
    ) as ws:
        page, size = await next_frame(ws, "ready")
        pages, sizes = [page], [size]
        while page["more"]:
            await ws.send(json.dumps({"op": "rooms", "after": page["after"], "ref": f"p{len(pages)}"}))
            page, size = await next_frame(ws, "rooms")
            assert page["ref"] == f"p{len(pages)}"
            pages.append(page)
            sizes.append(size)
        # Still open, and served: a request after the whole list gets its answer.
        await ws.send(json.dumps({"op": "sync", "room": str(rooms[-1].id), "after": 0, "ref": "after"}))
        answer, _ = await next_frame(ws, "envelopes")
        assert (answer["ref"], answer["items"], answer["more"]) == ("after", [], False)
    return pages, sizes


def test_a_user_put_in_a_thousand_rooms_gets_every_room_in_pages_and_keeps_the_socket(
    live_daphne: Server, victim_in_many_rooms: tuple[User, list[Room]]
) -> None:
    victim, rooms = victim_in_many_rooms
    log_before = len(live_daphne.log())
    pages, sizes = asyncio.run(every_room_then_a_sync(live_daphne, session_cookie(victim), rooms))
    assert len(pages) > 1 and max(sizes) <= LIMIT
    listed = [room["id"] for page in pages for room in page["rooms"]]
    assert listed == [str(room.id) for room in rooms]  # each once, in the order she was put in them
    assert "Traceback" not in live_daphne.log()[log_before:]
