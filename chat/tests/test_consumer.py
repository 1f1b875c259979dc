"""The chat socket, as a client and an attacker see it: every op and every refusal."""

import asyncio
import base64
import uuid

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from accounts.models import AuditEvent
from chat import consumers, selectors, services
from chat.models import Envelope
from chat.sending.presence import presence
from chat.tests.conftest import next_envelope, next_of, none_of, socket_on
from chat.tests.factories import LOCAL, PAGE_HEADERS, connect, envelope, send_frame, session_cookie
from chat.tests.rosters import Chain

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


async def test_anonymous_sockets_are_refused(users) -> None:
    communicator = await connect(None)
    await communicator.connect()
    closed = await communicator.receive_output(timeout=3)
    assert closed == {"type": "websocket.close", "code": 4401}


@pytest.mark.parametrize("cookie", ["sessionid=made-up-by-an-attacker", "sessionid="])
async def test_sockets_with_an_unknown_session_are_refused(users, cookie) -> None:
    from securechat.asgi import application

    communicator = WebsocketCommunicator(
        application, "/ws/chat/", headers=[*PAGE_HEADERS, (b"cookie", cookie.encode())]
    )
    await communicator.connect()
    assert await communicator.receive_output(timeout=3) == {"type": "websocket.close", "code": 4401}


async def test_a_session_from_before_a_password_change_opens_no_socket(users) -> None:
    from securechat.asgi import application

    alice = users["alice"]
    cookie = await database_sync_to_async(session_cookie)(alice)
    alice.set_password("a new auth key")  # what changing the password or recovering the account does
    await database_sync_to_async(alice.save)()
    communicator = WebsocketCommunicator(
        application, "/ws/chat/", headers=[*PAGE_HEADERS, (b"cookie", cookie.encode())]
    )
    await communicator.connect()
    assert await communicator.receive_output(timeout=3) == {"type": "websocket.close", "code": 4401}


async def test_sockets_from_a_foreign_origin_are_refused(users) -> None:
    communicator = await connect(users["alice"], origin="https://evil.example")
    connected, _ = await communicator.connect()
    assert not connected


async def test_ready_lists_my_rooms_with_their_members(users, room, sockets) -> None:
    bob = await sockets(users["bob"])
    assert bob.ready["user"] == users["bob"].pk
    [listed] = bob.ready["rooms"]
    assert list(listed) == [
        *("id", "kind", "policy", "owner", "members", "joined_after", "roster", "name"),
        *("read", "latest", "active_at"),
    ]
    assert listed["id"] == str(room.id) and listed["owner"] == users["alice"].pk
    assert (listed["read"], listed["latest"]) == (0, 0)  # nothing sent yet: nothing to read
    # The server's word on the head; the name is the roster's (sealed), not the server's.
    assert listed["roster"] == {"seq": 1, "hash": base64.b64encode(bytes(room.roster_head)).decode()}
    assert listed["name"] is None
    assert [m["username"] for m in listed["members"]] == ["alice", "bob"]
    carol = await sockets(users["carol"])
    assert carol.ready["rooms"] == []


async def test_a_member_sends_and_every_member_receives_but_no_outsider(users, room, sockets) -> None:
    alice, bob, carol = [await sockets(users[name]) for name in ("alice", "bob", "carol")]
    env = envelope(room, users["alice"].pk, [users["alice"].pk, users["bob"].pk])
    await alice.send_json_to(send_frame(room.id, env, ref="r1"))
    ack = await next_of(alice, "ack")
    assert ack["client_id"] == env["client_id"] and ack["ref"] == "r1"
    stored = await database_sync_to_async(Envelope.objects.get)(id=ack["id"])
    assert bytes(stored.ciphertext) == base64.b64decode(env["ciphertext"])
    assert stored.wrap_ids == sorted([users["alice"].pk, users["bob"].pk])
    assert bytes(stored.wraps) == base64.b64decode(env["wraps"])

    for member in (alice, bob):
        message = await next_envelope(member)
        assert message["id"] == ack["id"]
        assert message["ciphertext"] == env["ciphertext"]
        assert message["wrap_ids"] == env["wrap_ids"]
        assert message["wraps"] == env["wraps"]
        assert list(message) == ["id", "server_time", *env]
    await none_of(carol, "messages")


async def test_a_non_member_cannot_send_and_the_socket_stays_usable(users, room, sockets) -> None:
    carol = await sockets(users["carol"])
    env = envelope(room, users["carol"].pk, [users["alice"].pk, users["bob"].pk, users["carol"].pk])
    await carol.send_json_to(send_frame(room.id, env, ref="x"))
    error = await next_of(carol, "error")
    assert (error["code"], error["ref"]) == ("not_member", "x")
    await carol.send_json_to({"op": "history", "room": str(room.id), "ref": "y"})
    assert (await next_of(carol, "error"))["code"] == "not_member"
    assert await database_sync_to_async(Envelope.objects.count)() == 0


async def test_a_spoofed_sender_is_refused(users, room, sockets) -> None:
    bob = await sockets(users["bob"])
    env = envelope(room, users["alice"].pk, [users["alice"].pk, users["bob"].pk])
    await bob.send_json_to(send_frame(room.id, env))
    assert (await next_of(bob, "error"))["code"] == "forbidden"


async def test_an_envelope_naming_another_room_is_refused(users, room, sockets) -> None:
    alice = await sockets(users["alice"])
    env = envelope(uuid.uuid4(), users["alice"].pk, [users["alice"].pk, users["bob"].pk])
    await alice.send_json_to(send_frame(room.id, env))
    assert (await next_of(alice, "error"))["code"] == "forbidden"


@pytest.mark.parametrize("who", ["missing bob", "extra carol"])
async def test_wraps_that_do_not_name_exactly_the_members_get_the_current_list(users, room, sockets, who) -> None:
    alice = await sockets(users["alice"])
    members = [users["alice"].pk] if who == "missing bob" else [u.pk for u in users.values()]
    await alice.send_json_to(send_frame(room.id, envelope(room, users["alice"].pk, members)))
    error = await next_of(alice, "error")
    assert error["code"] == "members_changed"
    assert [m["username"] for m in error["members"]] == ["alice", "bob"]
    assert await database_sync_to_async(Envelope.objects.count)() == 0


async def test_a_repeated_client_id_returns_the_first_ack_and_stores_once(users, room, sockets) -> None:
    alice, bob = await sockets(users["alice"]), await sockets(users["bob"])
    env = envelope(room, users["alice"].pk, [users["alice"].pk, users["bob"].pk])
    await alice.send_json_to(send_frame(room.id, env))
    first = await next_of(alice, "ack")
    await next_of(bob, "messages")
    await alice.send_json_to(send_frame(room.id, {**env, "ciphertext": envelope(room, 1, [1])["ciphertext"]}))
    again = await next_of(alice, "ack")
    assert again["id"] == first["id"]
    assert await database_sync_to_async(Envelope.objects.count)() == 1
    await none_of(bob, "messages")


MALFORMED = [
    ("not json", "invalid_json"),
    ("[1, 2]", "wrong_type"),
    ('{"op": "shout"}', "unknown_op"),
    ('{"op": "send"}', "missing_field"),
    ('{"op": "sync", "room": "not-a-uuid"}', "wrong_type"),
    ('{"op": "history", "room": "8d3d7c64-1b1e-4b0e-9a4f-0d6b8c9b9a11", "limit": 1000}', "out_of_range"),
]


@pytest.mark.parametrize(("raw", "code"), MALFORMED)
async def test_malformed_frames_get_an_error_and_the_socket_stays_open(users, room, sockets, raw, code) -> None:
    alice = await sockets(users["alice"])
    await alice.send_to(text_data=raw)
    assert (await next_of(alice, "error"))["code"] == code
    await alice.send_json_to({"op": "history", "room": str(room.id)})
    assert (await next_of(alice, "envelopes"))["items"] == []


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("iv", "AAAA", "bad_length"),
        ("signature", "!!", "bad_base64"),
        ("eph_pub", 7, "wrong_type"),
        ("v", 4, "out_of_range"),
        ("roster_seq", -1, "out_of_range"),
        ("roster_seq", "1", "wrong_type"),
        ("roster_hash", "AAAA", "bad_length"),
        ("roster_hash", None, "missing_field"),
        ("ciphertext", base64.b64encode(bytes(300)).decode(), "bad_length"),
        ("ciphertext", "A" * 200_000, "too_large"),
        ("wrap_ids", [], "bad_length"),
        ("wrap_ids", list(range(1, 258)), "bad_length"),
        ("wrap_ids", [2, 1], "wrong_type"),
        ("wrap_ids", [1, 1], "wrong_type"),
        ("wrap_ids", [True, 2], "wrong_type"),
        ("wrap_ids", {"1": 1}, "wrong_type"),
        ("wraps", base64.b64encode(bytes(79)).decode(), "bad_length"),
        ("wraps", base64.b64encode(bytes(120)).decode(), "bad_length"),
        ("wraps", "!" * 108, "bad_base64"),
        ("wraps", {}, "wrong_type"),
    ],
)
async def test_malformed_envelopes_are_refused_with_a_stable_code(users, room, sockets, field, value, code) -> None:
    alice = await sockets(users["alice"])
    env = {**envelope(room, users["alice"].pk, [users["alice"].pk, users["bob"].pk]), field: value}
    await alice.send_json_to(send_frame(room.id, env))
    error = await next_of(alice, "error")
    assert error["code"] == code
    assert await database_sync_to_async(Envelope.objects.count)() == 0


async def test_a_removed_member_can_no_longer_send_or_receive(users, room, chain, sockets) -> None:
    alice, bob = await sockets(users["alice"]), await sockets(users["bob"])
    await database_sync_to_async(chain.append)(users["alice"], "remove", member=users["bob"])
    removed = await next_of(bob, "room")
    assert removed == {"type": "room", "event": "removed", "room": {"id": str(room.id)}}
    await none_of(bob, "roster")  # not even the entry that removed them
    only_alice = envelope(room.id, users["alice"].pk, [users["alice"].pk], head=chain.head)
    await alice.send_json_to(send_frame(room.id, only_alice))
    await next_of(alice, "ack")
    await none_of(bob, "messages")
    await bob.send_json_to(send_frame(room.id, envelope(room, users["bob"].pk, [users["alice"].pk], head=chain.head)))
    assert (await next_of(bob, "error"))["code"] == "not_member"
    actions = await database_sync_to_async(lambda: list(AuditEvent.objects.values_list("action", flat=True)))()
    assert "member_removed" in actions


async def test_someone_added_while_connected_is_invited_and_gets_the_room_and_its_messages_once_she_accepts(
    users, room, chain, sockets
) -> None:
    alice, carol = await sockets(users["alice"]), await sockets(users["carol"])
    await database_sync_to_async(chain.append)(users["alice"], "add", member=users["carol"], accepted=False)
    invited = await next_of(carol, "invitation")
    assert invited["event"] == "added" and invited["room"]["id"] == str(room.id)
    assert invited["room"]["invited_by"] == users["alice"].pk and invited["room"]["roster"]["seq"] == 2
    updated = await next_of(alice, "room")
    assert [(m["username"], m.get("pending", False)) for m in updated["room"]["members"]] == [
        ("alice", False),
        ("bob", False),
        ("carol", True),
    ]
    everyone = [u.pk for u in users.values()]
    # Wrapped for her (she is on the roster), but not hers until she accepts: no message, typing or presence.
    await alice.send_json_to(send_frame(room.id, envelope(room.id, users["alice"].pk, everyone, head=chain.head)))
    before = (await next_of(alice, "ack"))["id"]
    await alice.send_json_to({"op": "typing", "room": str(room.id)})
    await carol.send_json_to({"op": "history", "room": str(room.id), "ref": "h"})
    assert (await next_of(carol, "error"))["code"] == "not_member"

    await database_sync_to_async(services.accept_invitation)(user=users["carol"], room_id=room.id, client=LOCAL)
    meanwhile = []
    while (frame := await carol.receive_json_from(timeout=3))["type"] != "room":
        meanwhile.append(frame)
    assert frame["event"] == "added" and frame["room"]["id"] == str(room.id)
    assert "pending" not in {key for m in frame["room"]["members"] for key in m}
    assert [f["type"] for f in meanwhile if f.get("room") == str(room.id)] == []
    assert (await next_of(carol, "invitation"))["event"] == "removed"
    await alice.send_json_to(send_frame(room.id, envelope(room.id, users["alice"].pk, everyone, head=chain.head)))
    [first] = (await next_of(carol, "messages"))["envelopes"]
    assert first["id"] > before  # the one sent while she was invited never came live; her history has it


async def test_a_member_added_just_as_a_new_rooms_socket_reads_it_is_in_the_list_it_gets(
    users, sockets, monkeypatch
) -> None:
    alice = await sockets(users["alice"])
    read_room = selectors.room_for
    added: list[str] = []

    new = Chain(name="New")

    def room_for_then_add_bob(user, room_id):
        room = read_room(user, room_id)
        if not added:  # the owner adds bob the moment the socket has read the new room, before it joins its group
            added.append(room["id"])
            new.append(users["alice"], "add", member=users["bob"])
        return room

    monkeypatch.setattr(selectors, "room_for", room_for_then_add_bob)
    await database_sync_to_async(new.append)(users["alice"], "create", members=(users["alice"],))

    frames = [await next_of(alice, "room")]
    while not await alice.receive_nothing(timeout=0.5):
        frame = await alice.receive_json_from()
        if frame["type"] == "room":
            frames.append(frame)
    assert added == [frames[0]["room"]["id"]]
    # The page keeps the last room frame it got: it must list bob.
    assert [m["username"] for m in frames[-1]["room"]["members"]] == ["alice", "bob"]


async def test_a_room_one_is_added_to_while_the_socket_connects_reaches_it(
    users, room, chain, sockets, monkeypatch
) -> None:
    read_rooms = selectors.members_of_my_rooms
    await database_sync_to_async(chain.append)(users["alice"], "add", member=users["carol"], accepted=False)

    def rooms_then_add_carol(user):
        rooms = read_rooms(user)
        # carol accepts her invitation (in another tab) the moment her connecting socket has read her rooms.
        services.accept_invitation(user=users["carol"], room_id=room.id, client=LOCAL)
        return rooms

    monkeypatch.setattr(selectors, "members_of_my_rooms", rooms_then_add_carol)
    carol = await sockets(users["carol"])
    # Read after the groups were joined, the first page of her rooms may list it already; the event brings it anyway.
    added = await next_of(carol, "room")
    assert (added["event"], added["room"]["id"]) == ("added", str(room.id))


async def test_history_pages_backwards_and_sync_catches_up(users, room, sockets) -> None:
    alice = await sockets(users["alice"])
    members = [users["alice"].pk, users["bob"].pk]
    ids = []
    for _ in range(7):
        await alice.send_json_to(send_frame(room.id, envelope(room, users["alice"].pk, members)))
        ids.append((await next_of(alice, "ack"))["id"])
    await alice.send_json_to({"op": "history", "room": str(room.id), "limit": 3})
    latest = await next_of(alice, "envelopes")
    assert [e["id"] for e in latest["items"]] == ids[-3:] and latest["more"]
    await alice.send_json_to({"op": "history", "room": str(room.id), "before": ids[-3], "limit": 5})
    older = await next_of(alice, "envelopes")
    assert [e["id"] for e in older["items"]] == ids[:4] and not older["more"] and older["start"]
    await alice.send_json_to({"op": "sync", "room": str(room.id), "after": ids[2]})
    caught_up = await next_of(alice, "envelopes")
    assert [e["id"] for e in caught_up["items"]] == ids[3:] and not caught_up["more"]


async def test_a_member_added_later_sees_only_what_came_after_joining(users, room, chain, sockets) -> None:
    alice = await sockets(users["alice"])
    before_join = envelope(room, users["alice"].pk, [users["alice"].pk, users["bob"].pk])
    await alice.send_json_to(send_frame(room.id, before_join))
    await next_of(alice, "ack")
    await database_sync_to_async(chain.append)(users["alice"], "add", member=users["carol"])
    everyone = [u.pk for u in users.values()]
    await alice.send_json_to(send_frame(room.id, envelope(room.id, users["alice"].pk, everyone, head=chain.head)))
    after_join = (await next_of(alice, "ack"))["id"]
    carol = await sockets(users["carol"])
    await carol.send_json_to({"op": "history", "room": str(room.id)})
    page = await next_of(carol, "envelopes")
    assert [e["id"] for e in page["items"]] == [after_join]
    assert page["start"] and not page["more"]
    await carol.send_json_to({"op": "sync", "room": str(room.id), "after": 0})
    assert [e["id"] for e in (await next_of(carol, "envelopes"))["items"]] == [after_join]


async def test_typing_reaches_the_other_members_only(users, room, sockets) -> None:
    alice, bob, carol = [await sockets(users[name]) for name in ("alice", "bob", "carol")]
    await alice.send_json_to({"op": "typing", "room": str(room.id)})
    assert await next_of(bob, "typing") == {"type": "typing", "room": str(room.id), "user": users["alice"].pk}
    await none_of(alice, "typing")
    await none_of(carol, "typing")


async def test_presence_shows_who_of_the_room_is_online(users, room, sockets) -> None:
    alice = await sockets(users["alice"])
    first = await next_of(alice, "presence")
    assert first["online"] == [users["alice"].pk]
    bob = await sockets(users["bob"])
    assert (await next_of(alice, "presence"))["online"] == sorted([users["alice"].pk, users["bob"].pk])
    await bob.disconnect()
    assert (await next_of(alice, "presence"))["online"] == [users["alice"].pk]


async def test_sockets_that_connect_together_refresh_their_presence_at_different_times(
    users, room, sockets, monkeypatch
) -> None:
    # After a restart every client reconnects within a second or two; refreshes in step would be one burst of Redis
    # round trips every REFRESH_SECONDS, holding up everyone's messages.
    period = 1.0
    monkeypatch.setattr(consumers, "REFRESH_SECONDS", period)
    count = 12
    admitted: dict[str, float] = {}
    refreshed: dict[str, float] = {}
    all_refreshed = asyncio.Event()
    kind = type(presence())
    real_admit, real_refresh = kind.admit, kind.connect

    async def admit(self, user_id: int, socket: str, limit: int) -> bool:
        admitted[socket] = asyncio.get_running_loop().time()
        return await real_admit(self, user_id, socket, limit)

    async def refresh(self, user_id: int, socket: str) -> None:
        refreshed.setdefault(socket, asyncio.get_running_loop().time())
        if len(refreshed) == count:
            all_refreshed.set()
        await real_refresh(self, user_id, socket)

    monkeypatch.setattr(kind, "admit", admit)
    monkeypatch.setattr(kind, "connect", refresh)
    opened = [await sockets(users[name]) for name in ("alice", "bob") for _ in range(count // 2)]

    await asyncio.wait_for(all_refreshed.wait(), 30)  # an event: on a busy machine later, never wrongly

    assert len(opened) == count and refreshed.keys() == admitted.keys()
    # How long after its own connect each socket first refreshed: about the same for all, were they in step (and
    # measured from each connect, sockets opened one after another on a slow machine do not pass for spread ones).
    # Twelve delays drawn over the period all fall within a quarter of it by a chance of about 1 in 400,000.
    delays = [refreshed[socket] - admitted[socket] for socket in refreshed]
    assert max(delays) - min(delays) > period / 4, delays  # spread over the period, not all at once


async def test_sending_faster_than_the_rate_limit_is_refused(users, room, sockets, settings) -> None:
    settings.SEND_RATE_PER_MINUTE = 2
    alice = await sockets(users["alice"])
    members = [users["alice"].pk, users["bob"].pk]
    for _ in range(2):
        await alice.send_json_to(send_frame(room.id, envelope(room, users["alice"].pk, members)))
        await next_of(alice, "ack")
    await alice.send_json_to(send_frame(room.id, envelope(room, users["alice"].pk, members)))
    error = await next_of(alice, "error")
    assert error["code"] == "rate_limited"


@pytest.mark.parametrize("form", [str.upper, lambda u: u.replace("-", ""), lambda u: "{" + u + "}"])
async def test_a_room_uuid_in_a_non_canonical_form_is_refused(users, room, sockets, form) -> None:
    alice = await sockets(users["alice"])
    env = envelope(room, users["alice"].pk, [users["alice"].pk, users["bob"].pk])
    await alice.send_json_to(send_frame(room.id, {**env, "room": form(str(room.id))}))
    error = await next_of(alice, "error")
    assert (error["code"], error["field"]) == ("wrong_type", "envelope.room")


@pytest.mark.parametrize("sent_at", [0, 1763790000123, 253_402_300_799_999])
async def test_sent_at_comes_back_exactly_as_signed(users, room, sockets, sent_at) -> None:
    alice = await sockets(users["alice"])
    env = {**envelope(room, users["alice"].pk, [users["alice"].pk, users["bob"].pk]), "sent_at": sent_at}
    await alice.send_json_to(send_frame(room.id, env))
    assert (await next_envelope(alice))["sent_at"] == sent_at


async def test_a_sent_at_beyond_year_9999_is_refused(users, room, sockets) -> None:
    alice = await sockets(users["alice"])
    env = {**envelope(room, users["alice"].pk, [users["alice"].pk, users["bob"].pk]), "sent_at": 2**53}
    await alice.send_json_to(send_frame(room.id, env))
    assert (await next_of(alice, "error"))["code"] == "out_of_range"


async def test_a_key_reset_is_announced_to_everyone_sharing_a_room_and_ends_the_users_own_sockets(
    users, room, sockets
) -> None:
    from accounts.tests.factories import reset_keys

    alice, bob, carol = await sockets(users["alice"]), await sockets(users["bob"]), await sockets(users["carol"])
    await database_sync_to_async(reset_keys)(users["alice"])
    assert await next_of(bob, "keys") == {"type": "keys", "user": users["alice"].pk}
    await none_of(carol, "keys")
    # Alice's socket (another tab or device of hers) is closed, saying why: its page's keys are the old ones.
    while (output := await alice.receive_output(timeout=3))["type"] != "websocket.close":
        pass
    assert output["code"] == 4410


async def test_a_socket_whose_session_a_reset_ended_while_it_connected_is_closed(users) -> None:
    """The race: the session middleware read alice's session, then her key reset committed (its "session ended" went
    to the sockets already in her group), then this socket joined her group. It must not live on."""
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import connections
    from django.test import Client

    from accounts.tests.factories import reset_keys

    def session_read_before_the_reset() -> SessionStore:
        client = Client()
        client.force_login(users["alice"])
        session = SessionStore(session_key=client.session.session_key)
        session.load()
        reset_keys(users["alice"])
        return session

    session = await database_sync_to_async(session_read_before_the_reset)()
    communicator = await socket_on(users["alice"], session)
    while (output := await communicator.receive_output(timeout=3))["type"] != "websocket.close":
        assert output.get("type") != "websocket.send" or '"ready"' not in output.get("text", ""), "it was served"
    assert output["code"] == consumers.CLOSE_UNAUTHENTICATED
    await communicator.wait()
    await database_sync_to_async(connections.close_all)()


async def test_a_user_over_the_socket_limit_is_closed_with_4429_until_one_closes(users, sockets, settings) -> None:
    settings.SOCKETS_PER_USER = 2
    first = await sockets(users["alice"])
    await sockets(users["alice"])
    extra = await connect(users["alice"])
    await extra.connect()
    assert await extra.receive_output(timeout=3) == {"type": "websocket.close", "code": 4429}
    # Someone else is not counted against alice.
    assert (await sockets(users["bob"])).ready["user"] == users["bob"].pk
    await first.disconnect()
    assert (await sockets(users["alice"])).ready["user"] == users["alice"].pk
