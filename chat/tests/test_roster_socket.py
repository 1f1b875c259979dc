"""Rosters on the chat socket: the ``roster`` and ``append`` ops, the live ``roster`` frames, and sends (envelope v2)
that must name the room's current roster head."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.conf import settings

from accounts import introductions
from accounts.tests.factories import identity_keys
from chat import selectors
from chat.models import Envelope, Membership, Room, RosterEntry
from chat.tests.factories import envelope, make_user, send_frame
from chat.tests.rosters import Chain, make_room
from chat.tests.sockets import next_envelope, next_of, none_of
from tests import reference_roster as ref

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

in_db = database_sync_to_async


def append_frame(chain: Chain, wire: dict[str, Any], ref_: str | None = None) -> dict[str, Any]:
    return {"op": "append", "room": str(chain.room_id), "entry": wire, "ref": ref_}


async def stored_entries() -> int:
    return await in_db(RosterEntry.objects.count)()


async def test_an_append_is_answered_and_every_members_socket_gets_the_entry(users, room, chain, sockets) -> None:
    alice, bob, carol = [await sockets(users[name]) for name in ("alice", "bob", "carol")]
    wire = await in_db(chain.entry)(users["alice"], "rename", name="New name")
    await alice.send_json_to(append_frame(chain, wire, "r1"))
    appended = await next_of(alice, "appended")
    head = base64.b64encode(ref.entry_hash(wire["body"])).decode()
    assert appended == {"type": "appended", "room": str(room.id), "seq": 2, "hash": head, "after": 0, "ref": "r1"}
    for member in (alice, bob):
        frame = await next_of(member, "roster")
        assert list(frame) == ["type", "room", "entries"] and frame["room"] == str(room.id)
        [served] = frame["entries"]
        assert list(served) == ["body", "signature", "link_signature", "after", "server_time"]
        assert {key: served[key] for key in ref.WIRE_KEYS} == wire
    await none_of(carol, "roster")


async def test_the_roster_op_pages_the_chain_for_members_only(users, room, chain, sockets) -> None:
    bob, carol = await sockets(users["bob"]), await sockets(users["carol"])
    await bob.send_json_to({"op": "roster", "room": str(room.id), "from": 0, "ref": "all"})
    page = await next_of(bob, "roster")
    assert (page["ref"], page["room"], page["more"]) == ("all", str(room.id), False)
    assert [entry["body"] for entry in page["entries"]] == [wire["body"] for wire in chain.entries]
    await bob.send_json_to({"op": "roster", "room": str(room.id), "from": 1})
    assert [entry["body"] for entry in (await next_of(bob, "roster"))["entries"]] == [chain.entries[1]["body"]]
    await carol.send_json_to({"op": "roster", "room": str(room.id), "from": 0, "ref": "x"})
    refused = await next_of(carol, "error")
    await carol.send_json_to({"op": "roster", "room": str(Chain().room_id), "from": 0, "ref": "x"})
    assert refused == await next_of(carol, "error")
    assert refused["code"] == "not_member"


async def test_someone_added_over_the_socket_is_invited_to_the_room_at_its_head(users, room, chain, sockets) -> None:
    alice, bob, carol = [await sockets(users[name]) for name in ("alice", "bob", "carol")]
    await in_db(introductions.introduce)(users["alice"].pk, users["carol"].pk)  # alice looked her up by name
    wire = await in_db(chain.entry)(users["alice"], "add", member=users["carol"])
    await alice.send_json_to(append_frame(chain, wire))
    await next_of(alice, "appended")
    invited = await next_of(carol, "invitation")
    assert (invited["event"], invited["room"]["roster"]["seq"]) == ("added", 2)
    assert [m["username"] for m in invited["room"]["members"]] == ["alice", "bob", "carol"]
    assert (await next_of(bob, "roster"))["entries"][0]["body"] == wire["body"]


async def test_a_stranger_holding_the_link_joins_over_the_socket(users, sockets) -> None:
    alice, dave = users["alice"], await in_db(make_user)("dave")
    room, chain = await in_db(make_room)(alice, link=True)
    owner, joiner = await sockets(alice), await sockets(dave)
    wire = await in_db(chain.entry)(dave, "join", member=dave)
    await joiner.send_json_to(append_frame(chain, wire, "j"))
    assert (await next_of(joiner, "appended"))["ref"] == "j"
    assert (await next_of(joiner, "room"))["room"]["id"] == str(room.id)
    assert (await next_of(owner, "roster"))["entries"][0]["body"] == wire["body"]


async def test_refused_entries_get_error_frames_with_stable_codes_and_the_socket_stays_open(
    users, room, chain, sockets
) -> None:
    alice_user, bob_user = users["alice"], users["bob"]
    alice = await sockets(alice_user)
    await in_db(introductions.introduce)(alice_user.pk, users["carol"].pk)
    good = await in_db(chain.entry)(alice_user, "add", member=users["carol"])
    body = json.loads(good["body"])
    spaced = ref.sign(json.dumps(body), identity_keys("alice")[0])  # signed, but not in its canonical form
    frames = [
        (append_frame(chain, spaced), "bad_entry"),
        (append_frame(chain, {**good, "signature": base64.b64encode(bytes(64)).decode()}), "bad_signature"),
        (append_frame(chain, await in_db(chain.entry)(bob_user, "add", member=users["carol"])), "forbidden"),
        (append_frame(chain, chain.entries[1]), "roster_conflict"),
        (append_frame(chain, {**good, "extra": 1}), "bad_entry"),
        ({"op": "append", "room": str(room.id), "ref": "r"}, "missing_field"),
        ({"op": "roster", "room": str(room.id)}, "missing_field"),
        ({"op": "roster", "room": str(room.id), "from": -1}, "out_of_range"),
    ]
    for index, (frame, code) in enumerate(frames):
        await alice.send_json_to({**frame, "ref": f"f{index}"})
        error = await next_of(alice, "error")
        assert (error["code"], error["ref"]) == (code, f"f{index}"), error
    assert await stored_entries() == 2
    # Still open, still answering: the honest entry goes through.
    await alice.send_json_to(append_frame(chain, good, "ok"))
    assert (await next_of(alice, "appended"))["seq"] == 2


async def test_a_roster_conflict_names_the_head_to_rebuild_on(users, room, chain, sockets) -> None:
    alice = await sockets(users["alice"])
    stale = await in_db(chain.entry)(users["alice"], "add", member=users["carol"])
    await in_db(chain.append)(users["alice"], "rename", name="Moved on")
    await alice.send_json_to(append_frame(chain, stale, "s"))
    error = await next_of(alice, "error")
    assert (error["code"], error["head"]) == ("roster_conflict", {"seq": 2, "hash": chain.head[1]})


# --- sends name the roster head --------------------------------------------------------------------------------------


async def test_a_v2_envelope_naming_the_head_is_stored_and_relayed_with_it(users, room, chain, sockets) -> None:
    alice, bob = await sockets(users["alice"]), await sockets(users["bob"])
    env = envelope(room, users["alice"].pk, [users["alice"].pk, users["bob"].pk])
    assert (env["v"], env["roster_seq"], env["roster_hash"]) == (2, *chain.head)
    await alice.send_json_to(send_frame(room.id, env))
    relayed = await next_envelope(bob)
    assert list(relayed) == ["id", "server_time", *env]
    assert (relayed["roster_seq"], relayed["roster_hash"]) == chain.head
    stored = await in_db(Envelope.objects.get)(id=relayed["id"])
    assert (stored.version, stored.roster_seq, base64.b64encode(bytes(stored.roster_hash)).decode()) == (2, *chain.head)


async def test_a_v1_envelope_to_a_room_with_a_roster_is_refused_with_roster_changed(
    users, room, chain, sockets
) -> None:
    alice = await sockets(users["alice"])
    v1 = envelope(room.id, users["alice"].pk, [users["alice"].pk, users["bob"].pk])
    assert v1["v"] == 1
    await alice.send_json_to(send_frame(room.id, v1, ref="old"))
    error = await next_of(alice, "error")
    assert (error["code"], error["ref"], error["head"]) == ("roster_changed", "old", {"seq": 1, "hash": chain.head[1]})
    assert await in_db(Envelope.objects.count)() == 0


async def test_a_send_naming_a_stale_head_is_refused_with_the_current_head(users, room, chain, sockets) -> None:
    alice, bob = await sockets(users["alice"]), await sockets(users["bob"])
    old_head = chain.head
    await in_db(chain.append)(users["alice"], "remove", member=users["bob"])
    # Wrapped for bob still, at the head that listed him: the server withheld nothing, the sender was behind.
    stale = envelope(room.id, users["alice"].pk, [users["alice"].pk, users["bob"].pk], head=old_head)
    await alice.send_json_to(send_frame(room.id, stale))
    error = await next_of(alice, "error")
    assert (error["code"], error["head"]) == ("roster_changed", {"seq": 2, "hash": chain.head[1]})
    forged_hash = envelope(room.id, users["alice"].pk, [users["alice"].pk], head=(2, old_head[1]))
    await alice.send_json_to(send_frame(room.id, forged_hash))
    assert (await next_of(alice, "error"))["code"] == "roster_changed"
    await none_of(bob, "messages")
    assert await in_db(Envelope.objects.count)() == 0


async def test_the_head_is_checked_before_the_members(users, room, chain, sockets) -> None:
    alice = await sockets(users["alice"])
    await alice.send_json_to(send_frame(room.id, envelope(room, users["alice"].pk, [users["alice"].pk])))
    error = await next_of(alice, "error")
    assert error["code"] == "members_changed"
    assert [m["username"] for m in error["members"]] == ["alice", "bob"]


async def test_a_room_from_before_rosters_takes_v1_only(users, sockets) -> None:
    alice, bob = users["alice"], users["bob"]

    def legacy() -> Room:
        room = Room.objects.create(legacy_name="Old", owner=alice)
        Membership.objects.bulk_create(Membership(room=room, user=user) for user in (alice, bob))
        return room

    room = await in_db(legacy)()
    socket = await sockets(alice)
    v2 = envelope(room.id, alice.pk, [alice.pk, bob.pk], head=(0, base64.b64encode(bytes(32)).decode()))
    await socket.send_json_to(send_frame(room.id, v2))
    error = await next_of(socket, "error")
    assert (error["code"], error["head"]) == ("roster_changed", None)
    await socket.send_json_to(send_frame(room.id, envelope(room, alice.pk, [alice.pk, bob.pk])))
    assert (await next_of(socket, "ack"))["room"] == str(room.id)


async def test_a_roster_page_is_cut_to_fit_one_frame(users, room, chain) -> None:
    def big_entries() -> None:
        body = "x" * (32 * 1024)
        RosterEntry.objects.bulk_create(
            RosterEntry(
                room=room, seq=seq, hash=bytes(32), body=body, signature=bytes(64), actor=users["alice"], op="rename"
            )
            for seq in range(2, 40)
        )

    await in_db(big_entries)()
    encoded, more = await in_db(selectors.roster_page)(room.id, 0)
    assert more and 2 < len(encoded) < 40
    assert sum(len(item) + 2 for item in encoded) <= settings.WEBSOCKET_MAX_MESSAGE_BYTES - 4096
    assert [json.loads(item)["body"] for item in encoded[:2]] == [wire["body"] for wire in chain.entries]


async def test_a_removed_members_open_socket_hears_no_later_entry(users, room, chain, sockets) -> None:
    bob = await sockets(users["bob"])
    await in_db(chain.append)(users["alice"], "remove", member=users["bob"])
    assert (await next_of(bob, "room"))["event"] == "removed"
    await in_db(chain.append)(users["alice"], "rename", name="Without bob")
    await none_of(bob, "roster")
