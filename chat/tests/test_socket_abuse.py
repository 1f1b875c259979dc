"""A socket's work and life, as a hostile client or a shared computer tries them."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from accounts.tests.factories import b64, post
from chat import consumers
from chat.tests.conftest import close_code
from chat.tests.test_sessions_end import OLD_KEY, sends_nothing_more, signed_in, socket_of, with_known_secrets

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

add = database_sync_to_async


async def test_another_log_in_in_the_same_browser_closes_the_sockets_of_the_session_it_replaced(users, room) -> None:
    """Signing in as someone else where alice is signed in (bob, on a shared computer) flushes alice's session:
    Django ends it without ``user_logged_out``. The log-in names the session the browser's cookie had, and alice's
    sockets of it close as at a log-out (4401), reading nothing more (issue 19, point 7)."""
    alice, bob = users["alice"], users["bob"]
    await add(with_known_secrets)(bob)
    browser, cookie = await add(signed_in)(alice)
    tab = await socket_of(cookie)

    body = {"username": bob.username, "auth_key": b64(OLD_KEY)}
    assert (await add(post)(browser, "/api/accounts/login", body)).status_code == 200
    assert browser.cookies["sessionid"].value != cookie.split("=", 1)[1]  # alice's session was flushed

    assert await close_code(tab) == consumers.CLOSE_UNAUTHENTICATED
    await sends_nothing_more(tab, room, alice)


async def test_roster_requests_on_one_socket_are_rate_limited_like_history(
    users, room, sockets, monkeypatch, settings
) -> None:
    """``roster`` reads a room's chain on the worker's one database thread, which every socket's requests share: past
    its bucket (a minute's worth at once) a socket is refused, as for ``history``."""
    from toolkit import token_bucket

    monkeypatch.setattr(token_bucket, "clock", lambda: 1000.0)  # no bucket refills during the test
    settings.SOCKET_ROSTER_PER_MINUTE = 120
    alice = await sockets(users["alice"])
    requests = 300
    for index in range(requests):
        await alice.send_json_to({"op": "roster", "room": str(room.id), "from": 0, "ref": f"r{index}"})
    answered = refused = 0
    while answered + refused < requests:
        frame = await alice.receive_json_from(timeout=10)
        if frame.get("ref", "").startswith("r"):
            if frame["type"] == "error":
                assert frame["code"] == "rate_limited", frame
                refused += 1
            else:
                answered += 1
    assert (answered, refused) == (120, requests - 120)
