"""An idle socket stays open: the Redis channel layer's blocking reads must not time the consumer out."""

import asyncio
import os

import pytest

from chat.tests.conftest import next_of

pytestmark = [
    pytest.mark.asyncio,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="the Redis channel layer's read timeout"),
]

# channels_redis blocks up to 5 s per read; a client read timeout of 5 s used to kill the consumer then.
IDLE_SECONDS = 12


async def test_a_socket_left_idle_stays_open_and_keeps_receiving(users, room, sockets) -> None:
    alice, bob = await sockets(users["alice"]), await sockets(users["bob"])
    await asyncio.sleep(IDLE_SECONDS)
    await alice.send_json_to({"op": "typing", "room": str(room.id)})
    assert (await next_of(bob, "typing"))["user"] == users["alice"].pk
    await bob.send_json_to({"op": "history", "room": str(room.id)})
    assert (await next_of(bob, "envelopes"))["items"] == []
