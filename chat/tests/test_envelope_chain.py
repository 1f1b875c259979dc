"""Envelope v3 at the server: stored and relayed with its signed header in order, and each sender's chain in a room
kept whole: one envelope per place, each following on from the last, so two tabs of one sender cannot both take a
place (readers would see a fork) and a tab that fell behind is told where its chain ends."""

import pytest
from channels.db import database_sync_to_async

from chat import protocol
from chat.models import Envelope
from chat.sending import store
from chat.tests.conftest import next_envelope, next_of
from chat.tests.factories import envelope, send_frame
from chat.tests.rosters import make_room
from toolkit.validation import Fields

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


def members(users) -> list[int]:
    return [users["alice"].pk, users["bob"].pk]


async def answer(socket) -> dict:
    """The send's answer, an ack or an error, skipping the frames that come at any time (presence, messages)."""
    while True:
        frame = await socket.receive_json_from(timeout=3)
        if frame["type"] in ("ack", "error"):
            return frame


async def test_a_v3_envelope_is_stored_and_relayed_with_its_header_in_signed_order(users, room, sockets) -> None:
    alice, bob = await sockets(users["alice"]), await sockets(users["bob"])
    env = envelope(room, users["alice"].pk, members(users), chain=1)
    await alice.send_json_to(send_frame(room.id, env, ref="r1"))
    ack = await next_of(alice, "ack")
    relayed = await next_envelope(bob)
    assert list(relayed) == ["id", "server_time", *env]
    assert {key: relayed[key] for key in env} == env
    stored = await database_sync_to_async(Envelope.objects.get)(id=ack["id"])
    assert (stored.version, stored.key_version, stored.chain_seq, stored.chain_prev) == (3, 1, 1, None)


async def test_each_place_in_a_senders_chain_is_taken_once_and_in_order(users, room, sockets) -> None:
    alice = await sockets(users["alice"])
    sender = users["alice"].pk

    async def send(chain: int, client_id: str | None = None) -> dict:
        await alice.send_json_to(send_frame(room.id, envelope(room, sender, members(users), client_id, chain=chain)))
        return await answer(alice)

    first = await send(1)
    assert first["type"] == "ack"
    skipped = await send(3)
    assert (skipped["type"], skipped["code"]) == ("error", "chain_changed")
    assert skipped["latest"]["id"] == first["id"] and skipped["latest"]["chain_seq"] == 1
    second_id = "0c0ffee0-0000-4000-8000-000000000002"
    second = await send(2, second_id)
    assert second["type"] == "ack"
    # Another tab of alice's, which had not seen her second message, takes the same place: refused, told the end.
    taken = await send(2)
    assert (taken["code"], taken["latest"]["client_id"]) == ("chain_changed", second_id)
    # A resend of the second (same client id) is answered with what was stored.
    again = await send(2, second_id)
    assert (again["type"], again["id"]) == ("ack", second["id"])
    stored = Envelope.objects.order_by("id").values_list("chain_seq", flat=True)
    assert await database_sync_to_async(list)(stored) == [1, 2]


async def test_chains_are_per_sender_and_per_room(users, room, sockets) -> None:
    other_room, _ = await database_sync_to_async(make_room)(users["alice"], users["carol"])
    alice, bob = await sockets(users["alice"]), await sockets(users["bob"])
    for socket, sender, to, ids in [
        (alice, "alice", room, members(users)),
        (bob, "bob", room, members(users)),
        (alice, "alice", other_room, sorted([users["alice"].pk, users["carol"].pk])),
    ]:
        await socket.send_json_to(send_frame(to.id, envelope(to, users[sender].pk, ids, chain=1)))
        assert (await answer(socket))["type"] == "ack"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"chain_prev": "A" * 43 + "="}, "wrong_type"),  # a previous hash on the first of a chain
        ({"chain_seq": 0}, "out_of_range"),
        ({"key_commit": None}, "missing_field"),
        ({"key_version": 0}, "out_of_range"),
        ({"v": 2}, "wrong_type"),  # a v2 envelope naming a key version
    ],
)
async def test_malformed_v3_fields_are_refused_with_a_stable_code(users, room, sockets, change, code) -> None:
    alice = await sockets(users["alice"])
    env = envelope(room, users["alice"].pk, members(users), chain=1) | change
    await alice.send_json_to(send_frame(room.id, env))
    assert (await next_of(alice, "error"))["code"] == code
    assert await database_sync_to_async(Envelope.objects.count)() == 0


def post(user, room, env) -> store.Post:
    return store.Post(user, room.id, protocol.envelope(Fields({"envelope": env})))


async def test_a_key_version_up_to_the_browsers_largest_integer_is_stored_beside_other_senders_posts(
    users, room
) -> None:
    await database_sync_to_async(a_large_key_version_beside_another_post)(users, room)


def a_large_key_version_beside_another_post(users, room) -> None:
    ids = [users["alice"].pk, users["bob"].pk]
    large = envelope(room, users["alice"].pk, ids, chain=1) | {"key_version": 2**53 - 1}
    honest = envelope(room, users["bob"].pk, ids, chain=1)
    results = store.post_envelopes([post(users["bob"], room, honest), post(users["alice"], room, large)], refused={})
    assert [type(result).__name__ for result in results] == ["Posted", "Posted"]
    assert Envelope.objects.get(sender=users["alice"]).key_version == 2**53 - 1


async def test_two_posts_for_one_place_in_one_batch_the_second_is_told_of_the_first(users, room) -> None:
    await database_sync_to_async(two_posts_for_one_place)(users, room)


def two_posts_for_one_place(users, room) -> None:
    ids = [users["alice"].pk, users["bob"].pk]
    first, second = (envelope(room, users["alice"].pk, ids, chain=1) for _ in range(2))
    won, lost = store.post_envelopes(
        [post(users["alice"], room, first), post(users["alice"], room, second)], refused={}
    )
    assert isinstance(won, store.Posted)
    assert lost.code == "chain_changed" and lost.extra["latest"]["client_id"] == first["client_id"]
