"""Ending a session closes the sockets it opened, saying why, and they can send nothing more.

Each person here is a browser session: a test client signed in (as a browser's cookie jar) and the sockets opened
with its cookie, through the real ASGI stack. A log-out closes its session's sockets (4401) and no other; a password
change, the other sessions' (4411), keeping its own; the same user signing in again, none; a recovery, all (4411); an
account switched off by staff, all (4403). Key resets (4410) are in test_consumer.py; another user's log-in in the
same browser (4401), in test_socket_abuse.py.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.hashers import make_password
from django.test import Client

from accounts.models import User
from accounts.services import _secret
from accounts.tests.factories import api_client, b64, new_password_body, post
from chat import consumers
from chat.models import Envelope
from chat.sending.fanout import CLOSE_TRY_AGAIN
from chat.tests.conftest import close_code, next_of, socket_on
from chat.tests.factories import PAGE_HEADERS, envelope, send_frame

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

add = database_sync_to_async
OLD_KEY, NEW_KEY, RECOVERY_KEY = os.urandom(32), os.urandom(32), os.urandom(32)


def signed_in(user: User) -> tuple[Client, str]:
    """A browser session of ``user``: its client (which sends the CSRF token, as the page does) and cookie."""
    client = api_client()
    client.force_login(user)
    return client, f"sessionid={client.cookies['sessionid'].value}"


def with_known_secrets(user: User) -> None:
    """The user's password is ``OLD_KEY``'s and their recovery key ``RECOVERY_KEY`` (tests do not know sign-up's)."""
    user.set_password(_secret(OLD_KEY))
    user.save(update_fields=["password"])
    user.identity.recovery_auth_hash = make_password(_secret(RECOVERY_KEY))
    user.identity.save(update_fields=["recovery_auth_hash"])


async def socket_of(cookie: str) -> WebsocketCommunicator:
    from securechat.asgi import application

    headers = [*PAGE_HEADERS, (b"cookie", cookie.encode())]
    communicator = WebsocketCommunicator(application, "/ws/chat/", headers=headers)
    connected, _ = await communicator.connect()
    assert connected
    await next_of(communicator, "ready")
    return communicator


async def sends_nothing_more(communicator: WebsocketCommunicator, room: Any, user: User) -> None:
    """A client that ignores the close and goes on: its frames are not read (no answer, nothing stored)."""
    members = await add(lambda: sorted(room.memberships.values_list("user_id", flat=True)))()
    env = envelope(room, user.pk, members)
    await communicator.send_json_to(send_frame(room.id, env, ref="after the close"))
    await communicator.send_json_to({"op": "history", "room": str(room.id), "ref": "after the close"})
    await communicator.send_json_to({"op": "typing", "room": str(room.id)})
    await communicator.disconnect()  # returns once the consumer has handled every frame before it
    assert communicator.output_queue.empty()
    assert not await add(Envelope.objects.filter(client_id=env["client_id"]).exists)()


async def still_served(communicator: WebsocketCommunicator, room: Any) -> None:
    ref = str(uuid.uuid4())
    await communicator.send_json_to({"op": "history", "room": str(room.id), "ref": ref})
    assert (await next_of(communicator, "envelopes"))["ref"] == ref


async def test_a_log_out_closes_the_sockets_of_that_session_and_no_other(users, room) -> None:
    alice = users["alice"]
    (this_browser, cookie), (_, other_cookie) = await add(signed_in)(alice), await add(signed_in)(alice)
    tab, other_tab, elsewhere = await socket_of(cookie), await socket_of(cookie), await socket_of(other_cookie)

    assert (await add(post)(this_browser, "/api/accounts/logout", {})).status_code == 204

    assert await close_code(tab) == consumers.CLOSE_UNAUTHENTICATED
    assert await close_code(other_tab) == consumers.CLOSE_UNAUTHENTICATED
    await sends_nothing_more(tab, room, alice)
    await still_served(elsewhere, room)
    for communicator in (other_tab, elsewhere):
        await communicator.disconnect()


async def test_a_password_change_closes_the_other_sessions_sockets_and_keeps_its_own(users, room) -> None:
    alice = users["alice"]
    await add(with_known_secrets)(alice)
    (changer, cookie), (_, other_cookie) = await add(signed_in)(alice), await add(signed_in)(alice)
    mine, theirs = await socket_of(cookie), await socket_of(other_cookie)

    body = new_password_body(NEW_KEY, current_auth_key=b64(OLD_KEY))
    assert (await add(post)(changer, "/api/accounts/password", body)).status_code == 200

    assert await close_code(theirs) == consumers.CLOSE_PASSWORD_CHANGED
    await sends_nothing_more(theirs, room, alice)
    # The changer's socket stays, known under its session's new key: the first close it gets is its log-out's.
    await still_served(mine, room)
    assert (await add(post)(changer, "/api/accounts/logout", {})).status_code == 204
    assert await close_code(mine) == consumers.CLOSE_UNAUTHENTICATED
    await mine.disconnect()


async def test_signing_in_again_as_the_same_user_keeps_the_sessions_sockets(users, room) -> None:
    """A log-in as alice where alice is signed in keeps her session (Django flushes only another user's): her open
    tab stays served, and is still that session's, so the browser's log-out closes it. (Another user's log-in there
    closes it: chat/tests/test_socket_abuse.py.)"""
    alice = users["alice"]
    await add(with_known_secrets)(alice)
    browser, cookie = await add(signed_in)(alice)
    tab = await socket_of(cookie)

    body = {"username": alice.username, "auth_key": b64(OLD_KEY)}
    assert (await add(post)(browser, "/api/accounts/login", body)).status_code == 200

    await still_served(tab, room)
    assert (await add(post)(browser, "/api/accounts/logout", {})).status_code == 204
    assert await close_code(tab) == consumers.CLOSE_UNAUTHENTICATED
    await tab.disconnect()


async def test_a_socket_a_password_change_kept_closes_when_another_user_signs_in_in_that_browser(users, room) -> None:
    """The kept socket follows its session to the key the change gave it: a log-in that flushes that session (bob's,
    on alice's browser) finds it there."""
    alice, bob = users["alice"], users["bob"]
    for user in (alice, bob):
        await add(with_known_secrets)(user)
    changer, cookie = await add(signed_in)(alice)
    mine = await socket_of(cookie)
    body = new_password_body(NEW_KEY, current_auth_key=b64(OLD_KEY))
    assert (await add(post)(changer, "/api/accounts/password", body)).status_code == 200
    await still_served(mine, room)

    body = {"username": bob.username, "auth_key": b64(OLD_KEY)}
    assert (await add(post)(changer, "/api/accounts/login", body)).status_code == 200

    assert await close_code(mine) == consumers.CLOSE_UNAUTHENTICATED
    await sends_nothing_more(mine, room, alice)


async def test_a_recovery_closes_every_socket_of_the_account(users, room) -> None:
    alice = users["alice"]
    await add(with_known_secrets)(alice)
    (_, cookie), (_, other_cookie) = await add(signed_in)(alice), await add(signed_in)(alice)
    sockets = [await socket_of(cookie), await socket_of(other_cookie)]

    body = {"username": alice.username, "recovery_auth": b64(RECOVERY_KEY), **new_password_body(NEW_KEY)}
    assert (await add(post)(await add(api_client)(), "/api/accounts/recover/finish", body)).status_code == 200

    for communicator in sockets:
        assert await close_code(communicator) == consumers.CLOSE_PASSWORD_CHANGED
        await sends_nothing_more(communicator, room, alice)


@pytest.mark.parametrize("save", ["a save of the user", "the admin's change form"])
async def test_an_account_switched_off_closes_every_socket_of_it(users, room, save, admin_user) -> None:
    alice, bob = users["alice"], users["bob"]
    (_, cookie), (_, other_cookie) = await add(signed_in)(alice), await add(signed_in)(alice)
    sockets = [await socket_of(cookie), await socket_of(other_cookie)]
    bobs = await socket_of((await add(signed_in)(bob))[1])

    if save == "a save of the user":
        alice.is_active = False
        await add(alice.save)()
    else:
        await add(switch_off_in_the_admin)(admin_user, alice)

    for communicator in sockets:
        assert await close_code(communicator) == consumers.CLOSE_ACCOUNT_DISABLED
        await sends_nothing_more(communicator, room, alice)
    await still_served(bobs, room)
    await bobs.disconnect()


def switch_off_in_the_admin(staff: User, user: User) -> None:
    client = Client()
    client.force_login(staff)
    # The change form with "Active" unticked (a browser leaves an unticked box out).
    form = {"keyevent_set-TOTAL_FORMS": "0", "keyevent_set-INITIAL_FORMS": "0", "key_events-TOTAL_FORMS": "0"}
    form |= {"key_events-INITIAL_FORMS": "0", "_save": "Save"}
    response = client.post(f"/admin/accounts/user/{user.pk}/change/", form)
    assert response.status_code == 302, response.content[:2000]
    user.refresh_from_db()
    assert not user.is_active


async def test_a_socket_whose_session_was_logged_out_while_it_connected_is_closed(users) -> None:
    """The race: the middleware read the session, then it was logged out (its end went to the sockets already in the
    user's group), then this socket joined the group. It must not live on."""
    from django.contrib.auth import SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import connections

    def session_read_then_logged_out() -> SessionStore:
        client, _ = signed_in(users["alice"])
        session = SessionStore(session_key=client.session.session_key)
        assert session.get(SESSION_KEY) == str(users["alice"].pk)  # read, as the middleware reads it, and kept
        client.post("/api/accounts/logout", headers={"X-CSRFToken": client.cookies["csrftoken"].value})
        return session

    communicator = await socket_on(users["alice"], await add(session_read_then_logged_out)())
    assert await close_code(communicator) == consumers.CLOSE_UNAUTHENTICATED
    await communicator.wait()
    await add(connections.close_all)()


async def test_every_close_code_the_chat_sends_is_one_daphne_can_send() -> None:
    """autobahn, under daphne, refuses a close code from the app other than 1000 or 3000-4999 (and the socket then
    closes with 1011, which says nothing)."""
    codes = {value for name, value in vars(consumers).items() if name.startswith("CLOSE_")} | {CLOSE_TRY_AGAIN}
    assert codes and all(code == 1000 or 3000 <= code <= 4999 for code in codes), codes
