"""Room messages over Redis pub/sub: a subscription that breaks must never leave a socket silently deaf."""

import asyncio
import os
import uuid

import pytest
from redis import asyncio as aioredis

from chat.sending.fanout import room_fanout
from chat.tests.factories import envelope, send_frame
from chat.tests.sockets import next_of

pytestmark = [
    pytest.mark.asyncio,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="pub/sub needs REDIS_URL"),
]


@pytest.fixture(name="own_prefix")
def own_prefix_fixture(settings) -> str:
    """A key prefix of this test's own, so killing its subscription touches no other process on this Redis."""
    settings.REDIS_KEY_PREFIX = f"test-{uuid.uuid4().hex}"
    return settings.REDIS_KEY_PREFIX


async def kill_clients_named(name: str) -> int:
    client = aioredis.from_url(os.environ["REDIS_URL"])
    try:
        ids = [c["id"] for c in await client.client_list(_type="pubsub") if c.get("name") == name]
        for client_id in ids:
            await client.client_kill_filter(_id=client_id)
        return len(ids)
    finally:
        await client.aclose()


async def test_messages_reach_the_room_through_the_workers_subscription(users, room, sockets, own_prefix) -> None:
    alice, bob = await sockets(users["alice"]), await sockets(users["bob"])
    members = [users["alice"].pk, users["bob"].pk]
    await alice.send_json_to(send_frame(room.id, envelope(room, users["alice"].pk, members)))
    ack = await next_of(alice, "ack")
    assert [item["id"] for item in (await next_of(bob, "messages"))["envelopes"]] == [ack["id"]]


async def test_a_broken_subscription_closes_every_socket_it_served(users, room, sockets, own_prefix) -> None:
    alice, bob = await sockets(users["alice"]), await sockets(users["bob"])
    assert await kill_clients_named(f"{own_prefix}:fanout") == 1  # as when Redis restarts or drops a slow reader
    for socket in (alice, bob):
        frame = await socket.receive_output(timeout=5)
        while frame["type"] == "websocket.send":  # presence and the like, sent before the break
            frame = await socket.receive_output(timeout=5)
        assert frame == {"type": "websocket.close", "code": 4013}  # "try again": the client reconnects and syncs


# Generous: these wait for an event, so they end as soon as it comes; only a broken fan-out ever waits this long.
WAIT = 30


class Recorder:
    def __init__(self) -> None:
        self.frames: list[str] = []
        self.changed = asyncio.Condition()

    async def send(self, text_data: str | None = None) -> None:
        async with self.changed:
            self.frames.append(text_data)
            self.changed.notify_all()

    async def holds(self, count: int) -> None:
        """Until this socket has been sent ``count`` frames."""
        async with self.changed:
            await self.changed.wait_for(lambda: len(self.frames) >= count)

    async def close(self, code: int | None = None, reason: str | None = None) -> None:
        pass


async def test_a_message_for_a_room_no_socket_here_is_in_never_holds_up_the_others(own_prefix) -> None:
    fanout = room_fanout()
    left, busy = str(uuid.uuid4()), str(uuid.uuid4())
    gone, here = Recorder(), Recorder()
    await fanout.join(left, gone)
    await fanout.join(busy, here)
    fanout.leave(left, gone)
    async with fanout.bus.lock:  # as a socket joining another room holds it, waiting for Redis to confirm
        await fanout.publish([(left, '{"type":"messages"}')])
        await fanout.publish([(busy, '{"type":"messages"}')])
        await asyncio.wait_for(here.holds(1), WAIT)
    assert here.frames == ['{"type":"messages"}'] and gone.frames == []


async def test_one_publish_of_several_rooms_reaches_each_room_in_order(own_prefix) -> None:
    fanout = room_fanout()
    rooms = [str(uuid.uuid4()) for _ in range(3)]
    recorders = [Recorder() for _ in rooms]
    for room_id, recorder in zip(rooms, recorders, strict=True):
        await fanout.join(room_id, recorder)
    frames = [(rooms[index % 3], f'{{"type":"messages","n":{index}}}') for index in range(7)]

    await fanout.publish(frames)

    for room_id, recorder in zip(rooms, recorders, strict=True):
        wanted = [frame for room, frame in frames if room == room_id]
        await asyncio.wait_for(recorder.holds(len(wanted)), WAIT)
        assert recorder.frames == wanted
