"""Bounded work per socket, as a hostile client sees it: ``history``, ``sync`` and ``typing`` beyond their rate are
refused with ``rate_limited`` (a typing notice is dropped, not relayed to the room), counted per socket and, for a
few sockets' worth, per session.

Time stands still for the sockets' buckets in these tests: none refills while a slow machine sends the requests.
"""

import uuid

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from chat import consumers, events
from chat.tests.conftest import next_of
from chat.tests.factories import PAGE_HEADERS, session_cookie
from toolkit import token_bucket

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


class StoppedClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> StoppedClock:
    stopped = StoppedClock()
    monkeypatch.setattr(token_bucket, "clock", stopped)
    return stopped


def request(op: str, room: object, ref: str) -> dict:
    position = {"after": 0} if op == "sync" else {"before": None, "limit": 10}
    return {"op": op, "room": str(room), "ref": ref, **position}


@pytest.mark.parametrize(
    ("op", "setting"), [("history", "SOCKET_HISTORY_PER_MINUTE"), ("sync", "SOCKET_SYNC_PER_MINUTE")]
)
async def test_one_request_more_than_the_sockets_rate_is_refused_until_a_token_comes_back(
    users, room, sockets, settings, clock, op, setting
) -> None:
    allowed = getattr(settings, setting)
    alice = await sockets(users["alice"])
    for index in range(allowed + 1):
        await alice.send_json_to(request(op, room.id, f"r{index}"))
    answers = [await next_of(alice, "envelopes") for _ in range(allowed)]
    assert [answer["ref"] for answer in answers] == [f"r{index}" for index in range(allowed)]
    refused = await next_of(alice, "error")
    assert (refused["code"], refused["ref"], refused["op"]) == ("rate_limited", f"r{allowed}", op)
    assert refused["retry_after"] == 1  # a minute's worth refills evenly: one more within the second

    # Another socket of the same user has its own bucket; this one is served again once a token is back.
    other = await sockets(users["alice"])
    await other.send_json_to(request(op, room.id, "other"))
    assert (await next_of(other, "envelopes"))["ref"] == "other"
    clock.now += 60 / allowed
    await alice.send_json_to(request(op, room.id, "later"))
    assert (await next_of(alice, "envelopes"))["ref"] == "later"


async def test_a_typing_flood_reaches_the_room_only_up_to_the_rate_and_the_sender_is_told_once(
    users, room, sockets, settings, clock
) -> None:
    allowed = settings.SOCKET_TYPING_PER_MINUTE
    alice, bob = await sockets(users["alice"]), await sockets(users["bob"])
    for _ in range(500):
        await alice.send_json_to({"op": "typing", "room": str(room.id)})
    # Alice's socket handles its frames in order: once this is answered, every typing frame was relayed or dropped.
    await alice.send_json_to(request("history", room.id, "after the flood"))
    told = []
    while (frame := await alice.receive_json_from(timeout=5))["type"] != "envelopes":
        if frame["type"] == "error":
            told.append(frame)
    assert [(f["code"], f["op"], f["ref"]) for f in told] == [("rate_limited", "typing", None)]
    # Anything sent to the room now reaches bob after every typing notice that was relayed.
    marker = str(uuid.uuid4())
    await get_channel_layer().group_send(
        events.room_group(room.id), {"type": "chat.presence", "room": str(room.id), "online": [marker]}
    )
    relayed = 0
    while (frame := await bob.receive_json_from(timeout=5)).get("online") != [marker]:
        relayed += frame["type"] == "typing"
    assert relayed == allowed


async def test_reconnecting_after_each_burst_gains_no_more_than_the_sessions_allowance(
    users, room, settings, clock
) -> None:
    """A client that opens a new socket whenever one's allowance runs out: its session keeps, in the worker, a
    bucket of four sockets' worth, so the fifth socket of the session is refused at its first request."""
    from securechat.asgi import application  # imported late: it builds the middleware from settings

    settings.SOCKET_HISTORY_PER_MINUTE = allowed = 2
    cookie = await database_sync_to_async(session_cookie)(users["alice"])
    answers = []
    for attempt in range(consumers.SESSION_SOCKETS + 1):
        socket = WebsocketCommunicator(application, "/ws/chat/", headers=[*PAGE_HEADERS, (b"cookie", cookie.encode())])
        connected, _ = await socket.connect()
        assert connected
        await next_of(socket, "ready")
        for index in range(allowed):
            await socket.send_json_to(request("history", room.id, f"{attempt}.{index}"))
            answer = await socket.receive_json_from(timeout=5)
            while answer["type"] not in ("envelopes", "error"):
                answer = await socket.receive_json_from(timeout=5)
            answers.append((answer["type"], answer["ref"]))
        await socket.disconnect()
    served = [ref for kind, ref in answers if kind == "envelopes"]
    refused = [ref for kind, ref in answers if kind == "error"]
    assert len(served) == consumers.SESSION_SOCKETS * allowed
    assert refused == [f"{consumers.SESSION_SOCKETS}.{index}" for index in range(allowed)]
