"""The user's rooms come in pages: the first in ``ready``, the rest by ``rooms`` from the cursor the previous page
gave, each page cut to one frame. However many rooms someone is put in, every frame fits and every room is listed
once (the attack through a real daphne: tests/hardening/test_many_rooms.py)."""

import json

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from chat.models import Membership
from chat.protocol import ROOMS_PAGE
from chat.tests.conftest import next_of
from chat.tests.factories import bulk_rooms

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

add_rooms = database_sync_to_async(bulk_rooms)


async def rest_of_the_list(socket, first: dict, *, ref: str = "p") -> list[dict]:
    """Every page after ``first`` (``ready`` or a ``rooms`` page), asked for as a page does, until ``more`` is false."""
    pages, page = [], first
    while page["more"]:
        await socket.send_json_to({"op": "rooms", "after": page["after"], "ref": f"{ref}{len(pages)}"})
        page = await next_of(socket, "rooms")
        assert page["ref"] == f"{ref}{len(pages)}"
        pages.append(page)
    return pages


def ids_of(*pages: dict) -> list[str]:
    return [room["id"] for page in pages for room in page["rooms"]]


async def test_ready_carries_a_first_page_and_rooms_pages_on_to_every_room_once(users, sockets) -> None:
    alice, bob = users["alice"], users["bob"]
    made = await add_rooms(bob, [alice, bob], 2 * ROOMS_PAGE + 50)
    socket = await sockets(alice)
    ready = socket.ready
    assert len(ready["rooms"]) == ROOMS_PAGE and ready["more"] is True
    assert list(ready["rooms"][0]) == [
        *("id", "kind", "policy", "owner", "members", "joined_after", "roster", "name"),
        *("read", "latest", "active_at"),
    ]
    pages = await rest_of_the_list(socket, ready)
    assert [len(page["rooms"]) for page in pages] == [ROOMS_PAGE, 50]
    assert ids_of(ready, *pages) == [str(room.id) for room in made]  # in the order she joined them, each once
    assert pages[-1]["rooms"][-1]["name"] == "Room 0250"
    # Past the end: an empty page that says so, and the same cursor.
    await socket.send_json_to({"op": "rooms", "after": pages[-1]["after"], "ref": "end"})
    end = await next_of(socket, "rooms")
    assert (end["rooms"], end["more"], end["after"]) == ([], False, pages[-1]["after"])
    # Carol is in none of them: her list is empty, and a cursor never reaches anyone else's rooms.
    carol = await sockets(users["carol"])
    assert (carol.ready["rooms"], carol.ready["more"]) == ([], False)
    await carol.send_json_to({"op": "rooms", "after": 0, "ref": "c"})
    assert (await next_of(carol, "rooms"))["rooms"] == []


async def test_rooms_joined_and_left_between_pages_are_listed_once_and_none_is_missed(users, sockets) -> None:
    alice, bob = users["alice"], users["bob"]
    made = await add_rooms(bob, [alice, bob], ROOMS_PAGE + 20)
    socket = await sockets(alice)
    listed, unlisted = made[0], made[ROOMS_PAGE + 5]
    assert str(unlisted.id) not in ids_of(socket.ready)

    def meanwhile() -> list:
        # She leaves a room already listed and one not listed yet, and is put in three new rooms.
        Membership.objects.filter(user=alice, room__in=[listed, unlisted]).update(left_at=timezone.now())
        return bulk_rooms(bob, [alice, bob], 3, prefix="Later")

    later = await database_sync_to_async(meanwhile)()
    pages = await rest_of_the_list(socket, socket.ready)
    seen = ids_of(socket.ready, *pages)
    assert len(seen) == len(set(seen))
    expected = [room for room in made if room != unlisted] + later
    assert seen == [str(room.id) for room in expected]


async def test_each_page_is_cut_to_what_one_frame_may_carry(users, sockets, settings) -> None:
    settings.WEBSOCKET_MAX_MESSAGE_BYTES = 8 * 1024  # 4 KiB for rooms: a dozen of three members
    made = await add_rooms(users["bob"], list(users.values()), 60)
    socket = await sockets(users["alice"])
    frames = [socket.ready]
    while frames[-1]["more"]:
        await socket.send_json_to({"op": "rooms", "after": frames[-1]["after"]})
        while (frame := json.loads(text := await socket.receive_from()))["type"] != "rooms":
            pass
        assert len(text) <= settings.WEBSOCKET_MAX_MESSAGE_BYTES
        frames.append(frame)
    assert len(json.dumps(socket.ready)) <= settings.WEBSOCKET_MAX_MESSAGE_BYTES
    assert len(frames) >= 4 and all(0 < len(frame["rooms"]) < 20 for frame in frames)
    assert ids_of(*frames) == [str(room.id) for room in made]


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({}, "missing_field"),
        ({"after": "12"}, "wrong_type"),
        ({"after": 1.5}, "wrong_type"),
        ({"after": True}, "wrong_type"),
        ({"after": None}, "missing_field"),
        ({"after": -1}, "out_of_range"),
        ({"after": 2**63}, "out_of_range"),
    ],
)
async def test_a_bad_cursor_is_refused_with_a_stable_code_and_the_socket_stays_open(
    users, sockets, fields, code
) -> None:
    await add_rooms(users["bob"], [users["alice"], users["bob"]], 3)
    socket = await sockets(users["alice"])
    await socket.send_json_to({"op": "rooms", "ref": "bad", **fields})
    error = await next_of(socket, "error")
    assert (error["code"], error["ref"], error.get("field")) == (code, "bad", "after")
    await socket.send_json_to({"op": "rooms", "after": 0, "ref": "good"})
    assert len((await next_of(socket, "rooms"))["rooms"]) == 3


async def test_pages_of_rooms_past_the_sockets_rate_are_refused_with_retry_after(users, sockets, settings) -> None:
    settings.SOCKET_ROOMS_PER_MINUTE = 2
    socket = await sockets(users["alice"])
    for index in range(3):
        await socket.send_json_to({"op": "rooms", "after": 0, "ref": f"r{index}"})
    assert [(await next_of(socket, "rooms"))["ref"] for _ in range(2)] == ["r0", "r1"]
    refused = await next_of(socket, "error")
    assert (refused["code"], refused["ref"], refused["op"]) == ("rate_limited", "r2", "rooms")
    assert refused["retry_after"] == 30  # two a minute: one more every 30 s
