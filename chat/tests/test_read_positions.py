"""Read positions: how far a member has read each room follows them to every tab and browser. The server keeps an
envelope id per stay, never content; it only moves forward, never past the room's newest envelope, and nobody else
hears of it."""

import pytest
from channels.db import database_sync_to_async

from chat.models import Membership
from chat.protocol import datetime_to_ms
from chat.tests.conftest import next_of, none_of
from chat.tests.factories import store_envelopes

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

store = database_sync_to_async(store_envelopes)


def listed(socket, room) -> dict:
    [found] = [r for r in socket.ready["rooms"] if r["id"] == str(room.id)]
    return found


async def mark(socket, room, up_to: int, ref: str = "r") -> dict:
    """Ask to mark the room read up to ``up_to``; the answer to that request (frames told meanwhile are skipped)."""
    await socket.send_json_to({"op": "read", "room": str(room.id), "up_to": up_to, "ref": ref})
    while (frame := await next_of(socket, "read"))["ref"] != ref:
        pass
    return frame


@database_sync_to_async
def kept(user, room) -> int:
    return Membership.objects.get(user=user, room=room, left_at__isnull=True).read_up_to


async def test_the_listing_says_how_far_i_read_and_what_is_newest(users, room, sockets) -> None:
    alice, bob = users["alice"], users["bob"]
    sent = await store(room, alice, 3)
    socket = await sockets(bob)
    entry = listed(socket, room)
    # Bob joined before the three: all three are unread for him, and the room is as recent as its newest.
    assert (entry["read"], entry["latest"]) == (0, sent[-1].id)
    assert entry["active_at"] == datetime_to_ms(sent[-1].server_time)
    assert await mark(socket, room, sent[1].id) == {
        "type": "read",
        "room": str(room.id),
        "up_to": sent[1].id,
        "ref": "r",
    }
    again = await sockets(bob)
    assert listed(again, room)["read"] == sent[1].id


async def test_reading_in_one_tab_is_told_to_my_other_tabs_and_to_nobody_else(users, room, sockets) -> None:
    alice, bob = users["alice"], users["bob"]
    [only] = await store(room, alice, 1)
    here, there, hers = await sockets(bob), await sockets(bob), await sockets(alice)
    await mark(here, room, only.id)
    assert (await next_of(there, "read")) == {"type": "read", "room": str(room.id), "up_to": only.id, "ref": None}
    await none_of(hers, "read")


async def test_a_read_position_never_moves_back_nor_past_the_newest_message(users, room, sockets) -> None:
    alice, bob = users["alice"], users["bob"]
    sent = await store(room, alice, 3)
    socket = await sockets(bob)
    # A stale tab marks an older message read: the position stays where the newer one left it.
    for ref, up_to in (("new", sent[2].id), ("old", sent[0].id)):
        assert (await mark(socket, room, up_to, ref))["up_to"] == sent[2].id
    assert await kept(bob, room) == sent[2].id
    # A position beyond anything sent yet would hide the next messages: it stops at the newest.
    assert (await mark(socket, room, 2**53, "far"))["up_to"] == sent[2].id
    [later] = await store(room, alice, 1)
    assert listed(await sockets(bob), room)["latest"] == later.id > await kept(bob, room)


async def test_a_stranger_cannot_read_or_set_anyone_s_position(users, room, sockets) -> None:
    alice, carol = users["alice"], users["carol"]
    [only] = await store(room, alice, 1)
    socket = await sockets(carol)
    await socket.send_json_to({"op": "read", "room": str(room.id), "up_to": only.id, "ref": "x"})
    refused = await next_of(socket, "error")
    assert (refused["code"], refused["ref"]) == ("not_member", "x")
    assert await kept(users["bob"], room) == 0
    # An invitation not yet accepted lists no activity of its room either.
    assert "read" not in str(socket.ready["rooms"])


@pytest.mark.parametrize(
    ("up_to", "code"),
    [(2**63, "out_of_range"), (-1, "out_of_range"), ("1", "wrong_type"), (None, "missing_field"), (True, "wrong_type")],
)
async def test_a_read_position_out_of_bounds_or_of_the_wrong_type_is_refused(users, room, sockets, up_to, code) -> None:
    alice, bob = users["alice"], users["bob"]
    await store(room, alice, 1)
    socket = await sockets(bob)
    await socket.send_json_to({"op": "read", "room": str(room.id), "up_to": up_to, "ref": "bad"})
    refused = await next_of(socket, "error")
    assert (refused["code"], refused["field"], refused["ref"]) == (code, "up_to", "bad")
    assert await kept(bob, room) == 0
