"""State that must hold across daphne workers lives in Redis, not in one process's memory."""

import asyncio
import contextlib
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import websockets

from accounts.tests.factories import b64
from tests.http import BrowserSession
from tests.servers import Server, daphne, server_env

pytestmark = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL (several workers)")

# Pre-login (and log-in) requests per address per minute on these workers: the test servers lift it by default.
PRELOGIN_LIMIT = 12


@pytest.fixture
def two_workers(transactional_db: None, static_root: Path, server_logs: Path) -> Iterator[tuple[Server, Server]]:
    # Counters of their own: other servers of this test run count requests from the same address too.
    env = server_env(
        static_root,
        CACHE_KEY_PREFIX=f"workers-{uuid.uuid4().hex}",
        PRELOGIN_PER_ADDRESS_PER_MINUTE=str(PRELOGIN_LIMIT),
    )
    with daphne(env, server_logs, "worker-a") as first, daphne(env, server_logs, "worker-b") as second:
        yield first, second


def test_failed_logins_on_one_worker_throttle_the_next_attempt_on_another(two_workers: tuple[Server, Server]) -> None:
    first, second = two_workers
    attacker = BrowserSession()
    for _ in range(5):
        status, body = attacker.post_json(
            f"{first.url}/api/accounts/login", {"username": "victim", "auth_key": b64(os.urandom(32))}
        )
        assert (status, body["error"]["code"]) == (400, "invalid_credentials")
    status, body = attacker.post_json(
        f"{second.url}/api/accounts/login", {"username": "victim", "auth_key": b64(os.urandom(32))}
    )
    assert status == 429
    assert body["error"]["code"] == "rate_limited"


def test_the_socket_limit_per_user_counts_sockets_on_every_worker(
    transactional_db: None, static_root: Path, server_logs: Path
) -> None:
    from chat.tests.factories import make_user, session_cookie

    cookie = session_cookie(make_user("tabby"))
    env = server_env(static_root, SOCKETS_PER_USER="2")

    async def open_sockets(first: Server, second: Server) -> list[int | str | None]:
        """Two sockets on the first worker, then a third on the second: "open", or the close code each got."""
        codes: list[int | str | None] = []
        async with contextlib.AsyncExitStack() as stack:
            for server in (first, first, second):
                socket = await stack.enter_async_context(
                    websockets.connect(
                        f"{server.ws_url}/ws/chat/",
                        additional_headers={"Cookie": cookie, "Origin": server.url},
                    )
                )
                try:
                    while json.loads(await asyncio.wait_for(socket.recv(), 10))["type"] != "ready":
                        pass
                    codes.append("open")
                except websockets.ConnectionClosed as closed:
                    codes.append(closed.rcvd.code if closed.rcvd else None)
        return codes

    with daphne(env, server_logs, "limit-a") as first, daphne(env, server_logs, "limit-b") as second:
        assert asyncio.run(open_sockets(first, second)) == ["open", "open", 4429]


def test_pre_login_attempts_from_one_address_are_counted_across_workers(two_workers: tuple[Server, Server]) -> None:
    first, second = two_workers
    asker = BrowserSession()
    limit = PRELOGIN_LIMIT
    for attempt in range(limit):
        server = (first, second)[attempt % 2]
        status, _ = asker.post_json(f"{server.url}/api/accounts/prelogin", {"username": f"someone{attempt}"})
        assert status == 200
    status, body = asker.post_json(f"{first.url}/api/accounts/prelogin", {"username": "one-more"})
    assert (status, body["error"]["code"]) == (429, "rate_limited")


def test_the_send_rate_of_a_user_is_counted_across_workers(
    transactional_db: None, static_root: Path, server_logs: Path
) -> None:
    from chat.tests.factories import envelope, make_user, send_frame, session_cookie
    from chat.tests.rosters import make_room

    sender = make_user("chatty")
    room, _ = make_room(sender, name="Rates")
    cookie = session_cookie(sender)
    env = server_env(static_root, SEND_RATE_PER_MINUTE="3")

    async def send_on(servers: tuple[Server, ...]) -> list[str]:
        """One send through each server in turn: what each got back (ack, or the error's code)."""
        answers = []
        for server in servers:
            headers = {"Cookie": cookie, "Origin": server.url}
            async with websockets.connect(f"{server.ws_url}/ws/chat/", additional_headers=headers) as socket:
                frame = send_frame(room.id, envelope(room, sender.pk, [sender.pk]), ref="r")
                await socket.send(json.dumps(frame))
                while (answer := json.loads(await asyncio.wait_for(socket.recv(), 10)))["type"] not in {"ack", "error"}:
                    pass
                answers.append(answer["type"] if answer["type"] == "ack" else answer["code"])
        return answers

    with daphne(env, server_logs, "rate-a") as first, daphne(env, server_logs, "rate-b") as second:
        servers = (first, second)
        assert asyncio.run(send_on(servers * 2)) == ["ack", "ack", "ack", "rate_limited"]
