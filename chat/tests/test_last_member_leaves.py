"""A room whose last member leaves is gone from every list: nobody is left who could read it, so nobody is left
waiting to be let in either. The owner, the last member who accepted, cannot leave while an invitation is open (the
rules of docs/PROTOCOL.md: the owner leaves only as the last member); their browser takes the invitations back with
signed removals first, each told to its invitee as the invitation's end, then leaves. Through the real services,
views and sockets, with entries signed as browsers sign them (``chat.tests.rosters``)."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async as db

from accounts.models import User
from accounts.tests.factories import api_client
from chat import selectors
from chat.tests.rosters import make_room
from chat.tests.sockets import next_of
from toolkit.errors import ApiError

pytestmark = [pytest.mark.django_db(transaction=True)]


def listed(user: User) -> dict[str, set[str]]:
    """Every way the user is shown rooms and invitations: by page on the socket and over HTTP."""
    client = api_client()
    client.force_login(user)
    return {
        "GET /api/rooms": {room["id"] for room in client.get("/api/rooms").json()["rooms"]},
        "GET /api/invitations": {room["id"] for room in client.get("/api/invitations").json()["invitations"]},
    }


async def pages(user: User, sockets: Any) -> dict[str, set[str]]:
    """What a socket opened now is served: ``ready``'s rooms, then the ``rooms`` and ``invitations`` pages."""
    socket = await sockets(user)
    await socket.send_json_to({"op": "rooms", "after": 0, "ref": "r"})
    rooms = await next_of(socket, "rooms")
    await socket.send_json_to({"op": "invitations", "after": 0, "ref": "i"})
    invitations = await next_of(socket, "invitations")
    return {
        "ready": {room["id"] for room in socket.ready["rooms"]},
        "rooms": {room["id"] for room in rooms["rooms"]},
        "invitations": {room["id"] for room in invitations["rooms"]},
    }


@pytest.mark.asyncio
async def test_when_the_last_member_leaves_the_invitations_are_taken_back_and_the_room_is_in_no_list(
    users, sockets
) -> None:
    alice_user, bob_user = users["alice"], users["bob"]
    room, chain = await db(make_room)(alice_user, bob_user, name="Short-lived", accepted=False)
    room_id = str(room.id)
    alice, bob = await sockets(alice_user), await sockets(bob_user)
    assert room_id in (await db(listed)(bob_user))["GET /api/invitations"]
    assert room_id in (await db(listed)(alice_user))["GET /api/rooms"]

    # Her leave alone, with bob's invitation still open, is refused: it would leave him invited to nobody's room.
    with pytest.raises(ApiError) as refused:
        await db(lambda: chain.submit(alice_user, chain.entry(alice_user, "leave", member=alice_user)))()
    assert refused.value.code == "forbidden"
    assert room_id in (await db(listed)(bob_user))["GET /api/invitations"]

    # What her browser does: take the invitation back (a signed removal), then leave as the last member.
    await db(chain.append)(alice_user, "remove", member=bob_user)
    assert await next_of(bob, "invitation") == {"type": "invitation", "event": "removed", "room": {"id": room_id}}
    await db(chain.append)(alice_user, "leave", member=alice_user)
    while (told := await next_of(alice, "room"))["event"] != "removed":  # the removal's "updated" comes first
        assert told["room"]["id"] == room_id
    assert told["room"] == {"id": room_id}

    assert not await db(selectors.active_memberships().filter(room_id=room_id).exists)()
    for user in (alice_user, bob_user, users["carol"]):
        for where, ids in {**(await db(listed)(user)), **(await pages(user, sockets))}.items():
            assert room_id not in ids, f"{user.username}: {where}"
