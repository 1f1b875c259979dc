"""Sends that arrive together are stored in one transaction, yet each is judged, answered and stored on its own."""

import asyncio
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from channels.db import database_sync_to_async
from django import db
from django.db import connection, transaction

from chat import protocol
from chat.consumers import SENDS_IN_FLIGHT
from chat.models import Envelope, Room
from chat.sending import store
from chat.tests.factories import envelope, send_frame
from chat.tests.rosters import make_room
from chat.tests.sockets import next_of, none_of
from tests.servers import database_url
from toolkit.errors import ApiError
from toolkit.validation import Fields

pytestmark = pytest.mark.django_db(transaction=True)


def post(user, room, members, client_id=None, head=None) -> store.Post:
    frame = Fields({"envelope": envelope(room, user.pk, members, client_id, head=head)})
    return store.Post(user, room.id, protocol.envelope(frame))


def test_one_bad_send_in_a_batch_is_refused_alone_and_the_rest_are_stored_in_order(users, room) -> None:
    alice, bob, carol = users["alice"], users["bob"], users["carol"]
    both = [alice.pk, bob.pk]
    repeated = str(uuid.uuid4())
    batch = [
        post(alice, room, both),
        post(carol, room, [alice.pk, bob.pk, carol.pk]),  # not a member
        post(bob, room, [alice.pk]),  # wraps miss a member
        post(bob, room, both, repeated),
        post(bob, room, both, repeated),  # the same send again, in the same batch
        post(alice, room, both),
    ]
    results = store.post_envelopes(batch, refused={})
    assert [r.code if isinstance(r, ApiError) else r.created for r in results] == [
        True,
        "not_member",
        "members_changed",
        True,
        False,
        True,
    ]
    stored = [r.envelope.id for r in results if isinstance(r, store.Posted)]
    assert stored[1] == stored[2] and stored == sorted(stored)
    assert list(Envelope.objects.order_by("id").values_list("id", flat=True)) == sorted(set(stored))
    # A later resend of a stored one is a repeat, answered with the first id.
    [again] = store.post_envelopes([batch[3]], refused={})
    assert (again.created, again.envelope.id) == (False, stored[1])


def test_every_field_of_a_batch_is_stored_as_sent(users, room) -> None:
    alice, bob = users["alice"], users["bob"]
    both = [alice.pk, bob.pk]
    batch = [post(alice, room, both), post(bob, room, both), post(alice, room, both)]

    results = store.post_envelopes(batch, refused={})

    for sent, posted in zip(batch, results, strict=True):
        stored = Envelope.objects.get(id=posted.envelope.id)
        given = sent.envelope
        assert (stored.room_id, stored.sender_id, stored.client_id) == (room.id, sent.sender.pk, given.client_id)
        assert (stored.version, stored.client_time, stored.wrap_ids) == (given.version, given.sent_at, list(both))
        assert [bytes(stored.eph_pub), bytes(stored.iv), bytes(stored.signature), bytes(stored.wraps)] == [
            given.eph_pub,
            given.iv,
            given.signature,
            given.wraps,
        ]
        assert (bytes(stored.ciphertext), stored.size) == (given.ciphertext, len(given.ciphertext))
        assert (stored.roster_seq, bytes(stored.roster_hash)) == (given.roster_seq, given.roster_hash)
        assert stored.server_time == posted.envelope.server_time


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: SQLite's writers take the whole database")
def test_a_batch_that_waited_for_its_rooms_lock_sees_what_the_holder_committed(users, room, chain) -> None:
    alice, bob, carol = users["alice"], users["bob"], users["carol"]
    holding, release = threading.Event(), threading.Event()
    held: list[store.Posted | ApiError] = []

    def holder() -> None:  # adds carol and stores a message, holding the room's lock until told to commit
        try:
            with transaction.atomic():
                Room.objects.select_for_update().get(id=room.id)
                chain.append(alice, "add", member=carol)
                everyone = [alice.pk, bob.pk, carol.pk]
                held.extend(store.post_envelopes([post(bob, room, everyone, head=chain.head)], refused={}))
                holding.set()
                release.wait()  # the lock is held until the batch is seen waiting for it, however long that takes
        finally:
            db.connection.close()

    thread = threading.Thread(target=holder)
    thread.start()
    waiting = ThreadPoolExecutor(1)
    try:
        assert holding.wait(60)
        # Wrapped for carol too, at the new head, as a client told of her joining would; it waits for the room's lock.
        sent = post(alice, room, [alice.pk, bob.pk, carol.pk], head=chain.head)
        batch = waiting.submit(store.post_envelopes, [sent], refused={})
        # Autocommit: within one transaction Postgres answers pg_stat_activity from the snapshot its first read took,
        # so a first look before the batch waited would be the answer for ever (this test hung so).
        with psycopg.connect(database_url(connection.settings_dict), autocommit=True) as watcher:
            waiting_for_lock = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            waiting_for_lock += "AND wait_event_type = 'Lock'"
            # Until the batch waits for the lock: it cannot finish while the lock is held, so this ends (on a busy
            # machine later, never wrongly); it stops early only if the batch failed.
            while not (waited := watcher.execute(waiting_for_lock).fetchone()[0]) and not batch.done():
                time.sleep(0.05)
    finally:
        release.set()
    thread.join(60)
    [posted] = batch.result(60)
    waiting.submit(lambda: db.connection.close()).result()
    waiting.shutdown()

    assert waited  # else the batch ran after the commit, and this test would show nothing
    # Carol's membership counted (no members_changed), and the frame will say it follows the holder's message.
    assert isinstance(posted, store.Posted) and posted.created, posted
    assert posted.after == held[0].envelope.id


@pytest.mark.asyncio
async def test_a_batch_over_the_senders_rate_refuses_only_the_sends_past_the_limit(users, room, settings) -> None:
    settings.SEND_RATE_PER_MINUTE = 3
    alice, bob = users["alice"], users["bob"]
    both = [alice.pk, bob.pk]
    batch = [post(alice, room, both) for _ in range(5)] + [post(bob, room, both)]
    results = await database_sync_to_async(store.post_envelopes)(batch, refused=await store.over_rate(batch))
    assert [r.code if isinstance(r, ApiError) else "stored" for r in results] == [
        "stored",
        "stored",
        "stored",
        "rate_limited",
        "rate_limited",
        "stored",
    ]
    assert await database_sync_to_async(Envelope.objects.count)() == 4


@pytest.mark.asyncio
async def test_sends_from_many_sockets_at_once_are_each_acked_once_and_delivered_in_id_order(
    users, room, sockets
) -> None:
    alice, bob = users["alice"], users["bob"]
    senders = [await sockets(alice) for _ in range(3)] + [await sockets(bob) for _ in range(3)]
    frames = []
    for index, socket in enumerate(senders):
        user = alice if index < 3 else bob
        frames.append((socket, [envelope(room, user.pk, [alice.pk, bob.pk]) for _ in range(5)]))
    await asyncio.gather(*(socket.send_json_to(send_frame(room.id, env)) for socket, envs in frames for env in envs))
    acks, seen, message_frames = [], [], []
    for socket, envs in frames:
        own_acks, ids, count = await frames_until(socket, acks=len(envs), messages=30)
        acks += own_acks
        seen.append(ids)
        message_frames.append(count)
    assert len({ack["id"] for ack in acks}) == 30
    # Every socket in the room saw all 30 once, in increasing id order.
    assert seen == [sorted(ack["id"] for ack in acks)] * len(frames)
    # Sends stored in one commit travel together: a socket gets fewer frames than messages, the same as the others.
    assert len(set(message_frames)) == 1 and message_frames[0] < 30
    assert await database_sync_to_async(Envelope.objects.count)() == 30


@pytest.mark.asyncio
async def test_every_live_frame_names_the_envelope_of_its_room_it_follows(users, room, sockets) -> None:
    alice, bob = users["alice"], users["bob"]
    other, _ = await database_sync_to_async(make_room)(alice, bob, name="Other")
    senders = [await sockets(alice), await sockets(bob)]
    reader = await sockets(bob)
    both = [alice.pk, bob.pk]
    # Sends to two rooms at once: batches hold both rooms, and the ids of the two interleave.
    await asyncio.gather(
        *(
            socket.send_json_to(send_frame(to.id, envelope(to, user.pk, both)))
            for _ in range(6)
            for socket, user in zip(senders, (alice, bob), strict=True)
            for to in (room, other)
        )
    )
    follows: dict[str, list[tuple[int, list[int]]]] = {str(room.id): [], str(other.id): []}
    while sum(len(ids) for frames in follows.values() for _, ids in frames) < 24:
        frame = await next_of(reader, "messages", wait=5)
        follows[frame["room"]].append((frame["after"], [item["id"] for item in frame["envelopes"]]))
    for frames in follows.values():
        # Frame after frame, each says the last id of the one before it: 0 before a room's first envelope.
        previous = 0
        for after, ids in frames:
            assert after == previous
            previous = ids[-1]


@pytest.mark.asyncio
async def test_one_sockets_quick_sends_do_not_wait_for_each_other_and_are_acked_in_order(users, room, sockets) -> None:
    alice, bob = users["alice"], users["bob"]
    socket = await sockets(alice)
    # More than a socket may have waiting at once: the rest wait their turn, and nothing is lost or stuck.
    envs = [envelope(room, alice.pk, [alice.pk, bob.pk]) for _ in range(SENDS_IN_FLIGHT + 8)]
    for index, env in enumerate(envs):
        await socket.send_json_to(send_frame(room.id, env, ref=f"r{index}"))
    acks, ids, message_frames = await frames_until(socket, acks=len(envs), messages=len(envs))
    assert [(ack["ref"], ack["client_id"]) for ack in acks] == [
        (f"r{i}", env["client_id"]) for i, env in enumerate(envs)
    ]
    assert ids == sorted(ack["id"] for ack in acks)
    # Each send did not wait for the one before it to be committed: they shared commits.
    assert message_frames < len(envs) // 4
    assert await database_sync_to_async(Envelope.objects.count)() == len(envs)


@pytest.mark.asyncio
@pytest.mark.skipif(connection.vendor != "postgresql", reason="holds a room's row lock from another connection")
async def test_a_socket_with_its_sends_in_flight_used_up_reads_no_further_frame_until_one_is_answered(
    users, room, sockets
) -> None:
    alice, bob = users["alice"], users["bob"]
    sender, other = await sockets(alice), await sockets(bob)
    with psycopg.connect(database_url(connection.settings_dict)) as blocker:
        # Every send to the room waits for this lock, as behind a long transaction.
        blocker.execute(f"SELECT 1 FROM {Room._meta.db_table} WHERE id = %s FOR UPDATE", [room.id])  # noqa: S608
        for _ in range(SENDS_IN_FLIGHT + 1):
            await sender.send_json_to(send_frame(room.id, envelope(room, alice.pk, [alice.pk, bob.pk])))
        await sender.send_json_to({"op": "typing", "room": str(room.id)})
        await none_of(other, "typing", wait=1.0)  # the typing frame waits behind the 33rd send
        blocker.rollback()
    await next_of(other, "typing", wait=5)
    acks, _, _ = await frames_until(sender, acks=SENDS_IN_FLIGHT + 1, messages=0)
    assert len({ack["id"] for ack in acks}) == SENDS_IN_FLIGHT + 1


async def frames_until(socket, *, acks: int, messages: int) -> tuple[list[dict], list[int], int]:
    """The acks and the message ids the socket got, and in how many ``messages`` frames those came."""
    got_acks, ids, message_frames = [], [], 0
    while len(got_acks) < acks or len(ids) < messages:
        frame = await socket.receive_json_from(timeout=5)
        if frame["type"] == "ack":
            got_acks.append(frame)
        elif frame["type"] == "messages":
            assert frame["room"] == frame["envelopes"][0]["room"]
            ids += [item["id"] for item in frame["envelopes"]]
            message_frames += 1
    return got_acks, ids, message_frames
