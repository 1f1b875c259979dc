"""Consent for rooms (issue 19, point 3; SECURITY.md, "Invitations"), from the side of whoever would abuse it: an
inviter who wants someone in his room, or in a conversation with him, without her say; and an invitee who wants a
room's messages, presence or say before (or without) accepting it. Everything goes through the real services, views
and sockets; the entries are signed as browsers sign them (``chat.tests.rosters``), and raw ones (``Chain.entry`` and
``Chain.submit``) are what a script sends: no name lookup, no accept for anyone."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from channels.db import database_sync_to_async as db

from accounts.models import AuditEvent, User
from accounts.tests.factories import api_client, post
from chat import selectors, services
from chat.models import Envelope, Membership, RosterEntry
from chat.tests.factories import LOCAL, connect, envelope, make_user, send_frame
from chat.tests.rosters import Chain, make_room, new_link
from chat.tests.sockets import next_of, none_of
from toolkit.errors import ApiError

pytestmark = [pytest.mark.django_db(transaction=True)]


def client_for(user: User) -> Any:
    client = api_client()
    client.force_login(user)
    return client


def look_up(client: Any, user: User) -> None:
    """The exact-name key lookup a browser makes before naming someone in a room (``GET /api/keys/<name>``)."""
    assert client.get(f"/api/keys/{user.username}").status_code == 200


def room_ids(client: Any) -> set[str]:
    return {room["id"] for room in client.get("/api/rooms").json()["rooms"]}


def invitations(client: Any) -> dict[str, dict[str, Any]]:
    return {room["id"]: room for room in client.get("/api/invitations").json()["invitations"]}


def refused(call: Callable[[], Any]) -> ApiError:
    with pytest.raises(ApiError) as caught:
        call()
    return caught.value


def by_id(*users: User) -> tuple[User, ...]:
    return tuple(sorted(users, key=lambda user: user.pk))


def raw_create(actor: User, *others: User, kind: str = "group") -> Chain:
    """A create as a script sends it: signed, straight to the server; nobody looks anyone up or accepts anything."""
    chain = Chain()
    chain.submit(actor, chain.entry(actor, "create", members=by_id(actor, *others), kind=kind))
    return chain


def stays(room_id: Any) -> dict[str, tuple[bool, bool]]:
    """Who is on the room's roster now, by name: (accepted, declined)."""
    rows = selectors.active_memberships().filter(room_id=room_id).select_related("user")
    return {m.user.username: (m.accepted_at is not None, m.declined_at is not None) for m in rows}


async def drain(communicator: Any, wait: float = 0.5) -> list[dict[str, Any]]:
    frames = []
    while not await communicator.receive_nothing(timeout=wait):
        frames.append(await communicator.receive_json_from())
    return frames


def about(frames: list[dict[str, Any]], room_id: Any) -> list[dict[str, Any]]:
    """The frames that name the room (by id, or as a room object)."""
    room_id = str(room_id)
    return [
        frame
        for frame in frames
        if frame.get("room") == room_id or (isinstance(frame.get("room"), dict) and frame["room"]["id"] == room_id)
    ]


# --- (1) an add is an invitation -------------------------------------------------------------------------------------


def test_an_add_makes_an_invitation_listed_apart_and_the_room_answers_her_like_one_that_does_not_exist(
    users, room, chain
) -> None:
    alice, carol = users["alice"], users["carol"]
    chain.append(alice, "add", member=carol, accepted=False)
    carol_http = client_for(carol)

    assert str(room.id) not in room_ids(carol_http)
    invitation = invitations(carol_http)[str(room.id)]
    assert invitation["invited_by"] == alice.pk
    assert invitation["roster"] == {"seq": 2, "hash": chain.head[1]}
    assert [(m["username"], m.get("pending", False)) for m in invitation["members"]] == [
        ("alice", False),
        ("bob", False),
        ("carol", True),
    ]
    # The room itself: byte for byte what a room that does not exist answers.
    real, fake = carol_http.get(f"/api/rooms/{room.id}"), carol_http.get(f"/api/rooms/{uuid.uuid4()}")
    assert (real.status_code, real.content) == (fake.status_code, fake.content)
    assert real.json()["error"]["code"] == "not_member"
    # Its signed roster is hers to read (who invites her, to what), sealed for her as for every member after the add.
    entries = carol_http.get(f"/api/rooms/{room.id}/roster").json()["entries"]
    assert [entry["body"] for entry in entries] == [wire["body"] for wire in chain.entries]
    assert carol.pk in json.loads(entries[-1]["body"])["meta"]["wrap_ids"]
    # The others see her on it, pending; who invited her is hers alone to be told.
    theirs = client_for(alice).get(f"/api/rooms/{room.id}").json()["room"]
    assert theirs["members"][-1] == {"id": carol.pk, "username": "carol", "pending": True}
    assert "invited_by" not in theirs
    assert stays(room.id)["carol"] == (False, False)


def frame_to(op: str, room_id: Any, sender: int, members: list[int], head: tuple[int, str]) -> dict[str, Any]:
    if op == "send":
        return send_frame(room_id, envelope(room_id, sender, members, head=head), ref=op)
    extra = {"after": 0} if op == "sync" else {}
    return {"op": op, "room": str(room_id), "ref": op, **extra}


@pytest.mark.asyncio
async def test_an_invitee_gets_none_of_the_room_on_her_socket_and_can_read_or_send_nothing(
    users, room, chain, sockets
) -> None:
    alice_user, carol_user = users["alice"], users["carol"]
    await db(chain.append)(alice_user, "add", member=carol_user, accepted=False)
    alice, bob, carol = [await sockets(users[name]) for name in ("alice", "bob", "carol")]
    room_id = str(room.id)

    assert room_id not in [r["id"] for r in carol.ready["rooms"]]
    await carol.send_json_to({"op": "rooms", "after": 0, "ref": "r"})
    assert room_id not in [r["id"] for r in (await next_of(carol, "rooms"))["rooms"]]
    await carol.send_json_to({"op": "invitations", "after": 0, "ref": "i"})
    [invitation] = (await next_of(carol, "invitations"))["rooms"]
    assert (invitation["id"], invitation["invited_by"]) == (room_id, alice_user.pk)

    # Every way into the room's contents: refused, exactly as for a room that does not exist; nothing stored.
    everyone = sorted(user.pk for user in users.values())
    for op in ("history", "sync", "send", "typing"):
        await carol.send_json_to(frame_to(op, room.id, carol_user.pk, everyone, chain.head))
        answer = await next_of(carol, "error")
        assert answer["code"] == "not_member", (op, answer)
        await carol.send_json_to(frame_to(op, uuid.uuid4(), carol_user.pk, everyone, chain.head))
        assert await next_of(carol, "error") == answer, op
    assert await db(Envelope.objects.filter(room=room).count)() == 0
    await none_of(bob, "typing")

    # She is on the roster: a message must be wrapped for her too (the server withholds no one from the wraps)...
    without_her = sorted([alice_user.pk, users["bob"].pk])
    await alice.send_json_to(send_frame(room.id, envelope(room.id, alice_user.pk, without_her, head=chain.head)))
    changed = await next_of(alice, "error")
    assert changed["code"] == "members_changed"
    assert changed["members"][-1] == {"id": carol_user.pk, "username": "carol", "pending": True}
    # ...and one wrapped for her is stored and reaches the room, not her; nor does typing.
    await alice.send_json_to(send_frame(room.id, envelope(room.id, alice_user.pk, everyone, head=chain.head)))
    await next_of(alice, "ack")
    await next_of(bob, "messages")
    await alice.send_json_to({"op": "typing", "room": room_id})
    await next_of(bob, "typing")
    assert about(await drain(carol), room.id) == []


# --- (2) presence ----------------------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_an_invitee_coming_online_is_told_to_nobody_in_the_room_and_she_hears_none_of_its_presence(
    users, room, chain, sockets
) -> None:
    alice_user, bob_user, carol_user = users["alice"], users["bob"], users["carol"]
    await db(chain.append)(alice_user, "add", member=carol_user, accepted=False)
    alice = await sockets(alice_user)
    carol = await sockets(carol_user)  # she comes online
    # Then bob comes and goes, carol online all along: each time the room is told who of it is online.
    bob = await connect(bob_user)
    await bob.connect()
    await next_of(bob, "ready")
    await bob.disconnect()
    told = [frame for frame in about(await drain(alice), room.id) if frame["type"] == "presence"]
    assert [frame["online"] for frame in told][-2:] == [sorted([alice_user.pk, bob_user.pk]), [alice_user.pk]]
    assert all(carol_user.pk not in frame["online"] for frame in told), told
    assert about(await drain(carol), room.id) == []

    # Accepted, she hears it and is heard: what was withheld was withheld for being an invitation.
    await db(services.accept_invitation)(user=carol_user, room_id=room.id, client=LOCAL)
    for socket in (alice, carol):
        while (frame := await next_of(socket, "presence"))["room"] != str(room.id):
            pass
        assert frame["online"] == sorted([alice_user.pk, carol_user.pk])


# --- (3) accepting ---------------------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_accepting_lists_the_room_and_delivers_what_is_sent_after(users, room, chain, sockets) -> None:
    alice_user, carol_user = users["alice"], users["carol"]
    await db(chain.append)(alice_user, "add", member=carol_user, accepted=False)
    alice, carol = await sockets(alice_user), await sockets(carol_user)
    carol_http = await db(client_for)(carol_user)

    accepted = await db(post)(carol_http, f"/api/rooms/{room.id}/accept", {})
    assert accepted.status_code == 200
    assert "pending" not in {key for member in accepted.json()["room"]["members"] for key in member}
    added = await next_of(carol, "room")
    assert (added["event"], added["room"]["id"]) == ("added", str(room.id))
    assert (await next_of(carol, "invitation")) == {
        "type": "invitation",
        "event": "removed",
        "room": {"id": str(room.id)},
    }
    assert str(room.id) in await db(room_ids)(carol_http)
    assert await db(invitations)(carol_http) == {}
    assert await db(AuditEvent.objects.filter(action="invitation_accepted", user=carol_user).count)() == 1

    everyone = sorted(user.pk for user in users.values())
    await alice.send_json_to(send_frame(room.id, envelope(room.id, alice_user.pk, everyone, head=chain.head)))
    sent = (await next_of(alice, "ack"))["id"]
    assert [item["id"] for item in (await next_of(carol, "messages"))["envelopes"]] == [sent]
    await carol.send_json_to({"op": "history", "room": str(room.id), "ref": "h"})
    assert [item["id"] for item in (await next_of(carol, "envelopes"))["items"]] == [sent]


def test_accepting_counts_against_rooms_per_user_max_and_an_invitation_does_not(settings, users) -> None:
    settings.ROOMS_PER_USER_MAX = 2
    alice, bob, carol = users["alice"], users["bob"], users["carol"]
    _, own = make_room(carol, name="Mine")  # one room
    first, _ = make_room(alice, carol, accepted=False)
    second, _ = make_room(bob, carol, accepted=False)
    _, public = make_room(alice, link=True, name="Public")
    carol_http = client_for(carol)

    assert post(carol_http, f"/api/rooms/{first.id}/accept", {}).status_code == 200  # two: the most
    over = post(carol_http, f"/api/rooms/{second.id}/accept", {})
    assert (over.status_code, over.json()["error"]["code"]) == (409, "room_limit")
    assert str(second.id) in invitations(carol_http) and str(second.id) not in room_ids(carol_http)
    assert stays(second.id)["carol"] == (False, False)
    # Nor past it another way: a room of her own, or one she joins by its open link.
    assert refused(lambda: raw_create(carol)).code == "room_limit"
    assert refused(lambda: public.submit(carol, public.entry(carol, "join", member=carol))).code == "room_limit"
    assert selectors.accepted_memberships().filter(user=carol).count() == 2

    own.append(carol, "leave", member=carol)  # a place frees up
    assert post(carol_http, f"/api/rooms/{second.id}/accept", {}).status_code == 200
    assert {str(first.id), str(second.id)} == room_ids(carol_http)


# --- (4) declining ---------------------------------------------------------------------------------------------------


def test_an_invitee_declines_a_group_with_her_own_signed_leave_and_may_make_no_other_entry(users, room, chain) -> None:
    alice, bob, carol = users["alice"], users["bob"], users["carol"]
    dave = make_user("dave")
    chain.append(alice, "link", link_secret=new_link())  # an open link: carol, invited, is sealed its secret too
    chain.append(alice, "add", member=carol, accepted=False)
    head, stored = chain.head, RosterEntry.objects.filter(room=room).count()

    # Until she accepts, the room takes no say of hers: not a reseal, which any member may make, nor a join by the
    # open link she holds (her way round the accept).
    attempts = {
        "rename": lambda: chain.entry(carol, "rename", name="Mine now"),
        "reseal": lambda: chain.entry(carol, "reseal"),
        "add": lambda: chain.entry(carol, "add", member=dave),
        "remove": lambda: chain.entry(carol, "remove", member=bob, link_secret=new_link()),
        "link": lambda: chain.entry(carol, "link", link_secret=new_link()),
        "join": lambda: chain.entry(carol, "join", member=carol),
    }
    for op, wire in attempts.items():
        error = refused(lambda wire=wire: chain.submit(carol, wire()))
        assert error.code == "forbidden", (op, error)
    room.refresh_from_db()
    assert (RosterEntry.objects.filter(room=room).count(), room.roster_seq) == (stored, head[0])
    assert "dave" not in stays(room.id)

    # A decline is the one entry she may make.
    carol_http = client_for(carol)
    assert post(carol_http, f"/api/rooms/{room.id}/decline", {}).json()["error"]["code"] == "forbidden"  # not so
    chain.submit(carol, chain.entry(carol, "leave", member=carol))
    assert set(stays(room.id)) == {"alice", "bob"}
    assert invitations(carol_http) == {} and str(room.id) not in room_ids(carol_http)
    assert carol_http.get(f"/api/rooms/{room.id}/roster").json()["error"]["code"] == "not_member"
    assert Membership.objects.get(room=room, user=carol).declined_at is not None
    assert AuditEvent.objects.filter(action="member_left", user=carol).count() == 1


def test_declining_a_direct_request_hides_it_keeps_the_pair_taken_and_she_can_still_accept_later(users) -> None:
    alice, carol = users["alice"], users["carol"]  # strangers
    carol_http, alice_http = client_for(carol), client_for(alice)
    look_up(carol_http, alice)
    request = raw_create(carol, alice, kind="direct")
    assert invitations(alice_http)[str(request.room_id)]["invited_by"] == carol.pk

    assert post(alice_http, f"/api/rooms/{request.room_id}/decline", {}).status_code == 204
    assert invitations(alice_http) == {} and str(request.room_id) not in room_ids(alice_http)
    assert post(alice_http, f"/api/rooms/{request.room_id}/decline", {}).status_code == 204  # said once is enough
    assert stays(request.room_id) == {"alice": (False, True), "carol": (True, False)}
    assert AuditEvent.objects.filter(action="invitation_declined", user=alice).count() == 1

    # carol cannot ask again: the pair's one direct room is taken, and a group naming alice is no way round it.
    look_up(carol_http, alice)
    again = refused(lambda: raw_create(carol, alice, kind="direct"))
    assert (again.code, again.extra.get("room")) == ("conflict", str(request.room_id))
    assert refused(lambda: raw_create(carol, alice)).code == "invitation_limit"
    assert invitations(alice_http) == {}

    # alice may change her mind.
    accepted = post(alice_http, f"/api/rooms/{request.room_id}/accept", {})
    assert accepted.status_code == 200
    assert str(request.room_id) in room_ids(alice_http)
    assert stays(request.room_id) == {"alice": (True, False), "carol": (True, False)}
    # and once a room is hers, there is nothing to decline.
    assert post(alice_http, f"/api/rooms/{request.room_id}/decline", {}).json()["error"]["code"] == "forbidden"


# --- (5) direct rooms ------------------------------------------------------------------------------------------------


def test_a_direct_room_between_strangers_is_a_request_once_she_was_looked_up_by_name(users) -> None:
    alice, carol = users["alice"], users["carol"]
    carol_http = client_for(carol)
    assert refused(lambda: raw_create(carol, alice, kind="direct")).code == "not_found"  # never met
    look_up(carol_http, alice)
    request = raw_create(carol, alice, kind="direct")
    assert stays(request.room_id) == {"alice": (False, False), "carol": (True, False)}
    assert str(request.room_id) in room_ids(carol_http)  # the asker's at once
    alice_http = client_for(alice)
    assert str(request.room_id) not in room_ids(alice_http)
    assert invitations(alice_http)[str(request.room_id)]["invited_by"] == carol.pk


def test_a_direct_room_between_people_who_share_a_room_is_a_request_too(users, room) -> None:
    """docs/DECISIONS.md, "Every direct conversation starts as a request": sharing a room is no consent (anyone
    shares one by its open link), and a direct room can never be left."""
    alice, bob = users["alice"], users["bob"]  # both accepted in alice's room
    assert selectors.accepted_memberships().filter(room=room, user__in=[alice, bob]).count() == 2
    direct = raw_create(alice, bob, kind="direct")  # no lookup needed: they share a room
    assert stays(direct.room_id) == {"alice": (True, False), "bob": (False, False)}
    bob_http = client_for(bob)
    assert str(direct.room_id) not in room_ids(bob_http)
    assert invitations(bob_http)[str(direct.room_id)]["invited_by"] == alice.pk
    assert post(bob_http, f"/api/rooms/{direct.room_id}/accept", {}).status_code == 200
    assert str(direct.room_id) in room_ids(bob_http)


# --- (6) caps --------------------------------------------------------------------------------------------------------


def test_pending_invitations_max_bounds_the_invitations_waiting_on_one_person(settings, users) -> None:
    settings.PENDING_INVITATIONS_MAX = 2
    alice, bob, carol = users["alice"], users["bob"], users["carol"]
    dave = make_user("dave")
    make_room(alice, carol, accepted=False)
    _, bobs = make_room(bob, carol, accepted=False)
    room, daves = make_room(dave)

    error = refused(lambda: daves.append(dave, "add", member=carol, accepted=False))
    assert error.code == "invitation_limit"
    assert refused(lambda: raw_create(dave, carol)).code == "invitation_limit"
    assert refused(lambda: raw_create(dave, carol, kind="direct")).code == "invitation_limit"
    assert len(invitations(client_for(carol))) == 2
    assert "carol" not in stays(room.id) and RosterEntry.objects.filter(room=room).count() == 1

    bobs.submit(carol, bobs.entry(carol, "leave", member=carol))  # she answers one
    daves.append(dave, "add", member=carol, accepted=False)
    assert len(invitations(client_for(carol))) == 2


def test_invitations_outstanding_max_bounds_the_invitations_one_account_has_waiting(settings, users) -> None:
    settings.INVITATIONS_OUTSTANDING_MAX = 2
    alice, bob, carol = users["alice"], users["bob"], users["carol"]
    dave = make_user("dave")
    room, chain = make_room(alice)
    chain.append(alice, "add", member=bob, accepted=False)
    chain.append(alice, "add", member=carol, accepted=False)

    error = refused(lambda: chain.append(alice, "add", member=dave, accepted=False))
    assert error.code == "invitation_limit"
    assert refused(lambda: raw_create(alice, dave)).code == "invitation_limit"
    assert refused(lambda: raw_create(alice, dave, kind="direct")).code == "invitation_limit"
    assert "dave" not in stays(room.id) and invitations(client_for(dave)) == {}
    # Only invitations waiting for an answer count: once one is answered, alice may invite again.
    services.accept_invitation(user=bob, room_id=room.id, client=LOCAL)
    chain.append(alice, "add", member=dave, accepted=False)
    assert str(room.id) in invitations(client_for(dave))


# --- (7) introductions -----------------------------------------------------------------------------------------------


def test_naming_an_account_never_met_answers_exactly_like_an_id_no_account_has_until_it_is_looked_up(users) -> None:
    alice = users["alice"]
    ghost = make_user("ghost")
    ghost_id = ghost.pk
    ghost.delete()  # an id no account has, below mallory's (members are named in order of id)
    mallory = make_user("mallory")
    room, chain = make_room(mallory)
    mallory_http = client_for(mallory)

    def add(member_id: int, key_version: int) -> Any:
        body = chain.body(mallory, "add", member=mallory)
        body["members"] = [[member_id, key_version]]
        return post(mallory_http, f"/api/rooms/{room.id}/roster", {"entry": chain.sign(mallory, body)})

    direct = Chain()

    def create(member_id: int, key_version: int) -> Any:
        body = direct.body(mallory, "create", members=(mallory,), kind="direct")
        body["members"] = sorted([[member_id, key_version], [mallory.pk, 1]])
        return post(mallory_http, f"/api/rooms/{direct.room_id}/roster", {"entry": direct.sign(mallory, body)})

    for attempt in (add, create):
        answers = [attempt(alice.pk, 1), attempt(alice.pk, 999), attempt(ghost_id, 1)]
        assert len({(answer.status_code, answer.content) for answer in answers}) == 1, attempt.__name__
        assert answers[0].status_code == 404
        assert answers[0].json()["error"] == {
            "code": "not_found",
            "detail": "No such user.",
            "field": "entry.body.members.0",
        }
    assert stays(room.id) == {"mallory": (True, False)}
    assert mallory_http.get(f"/api/keys?ids={alice.pk}").json()["keys"] == []

    # A lookup by another name, or a wrong one, introduces nobody; a lookup of hers, through the real endpoint, does.
    assert mallory_http.get("/api/keys/alicia").status_code == 404
    assert add(alice.pk, 1).status_code == 404
    look_up(mallory_http, alice)
    wrong_version = add(alice.pk, 999)
    assert (wrong_version.status_code, wrong_version.json()["error"]["code"]) == (400, "bad_entry")
    wire = chain.entry(mallory, "add", member=alice)
    added = post(mallory_http, f"/api/rooms/{room.id}/roster", {"entry": wire})
    assert added.status_code == 200
    chain.accept(wire)
    assert stays(room.id) == {"mallory": (True, False), "alice": (False, False)}
    assert invitations(client_for(alice))[str(room.id)]["invited_by"] == mallory.pk
