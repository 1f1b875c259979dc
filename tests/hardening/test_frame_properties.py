"""Hostile WebSocket frames: the parser answers with a Frame or a coded ApiError, and the socket with an error frame.

The pure parsers (chat.protocol) are run on any text and on deep mutations of a valid ``send`` frame; then a
signed-in socket is sent a series of refused frames and must answer each with one ``error`` frame of the parser's
code, stay open, and store nothing.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from accounts.models import User
from chat import protocol, roster
from chat.models import Envelope, Room, RosterEntry
from chat.tests.factories import connect, envelope, make_user
from chat.tests.rosters import Chain, make_room
from chat.tests.sockets import next_of
from tests import reference_roster as ref
from tests.hardening.strategies import ERROR_CODES, deep_nesting, examples, json_values, mutated, texts
from toolkit.errors import ApiError

VECTOR = json.loads((Path(__file__).resolve().parents[1] / "vectors" / "envelope-v1.json").read_text())["envelope"]
ROOM = "7d1e5c2a-3b4f-4c6d-8e9f-0a1b2c3d4e5f"
HEAD = (3, base64.b64encode(bytes(range(32))).decode())
# Valid send frames: the browser's test vector, and v1 and v2 ones of the server tests' shape with two members.
SEND_FRAMES = [
    {"op": "send", "room": VECTOR["room"], "envelope": VECTOR, "ref": "v"},
    {"op": "send", "room": ROOM, "envelope": envelope(ROOM, 7, [7, 9], blocks=2), "ref": "s"},
    {"op": "send", "room": ROOM, "envelope": envelope(ROOM, 7, [7, 9], head=HEAD), "ref": "2"},
]


def create_entry() -> dict[str, Any]:
    """A well-formed create of ROOM by user 7 with user 9 (the parser checks its form, not who signed it)."""
    body = ref.create_body(
        room=ROOM, at=1_763_790_000_000, actor=7, actor_key=1, kind="group", members=[(7, 1), (9, 1)]
    )
    sealed = ref.with_meta(
        body,
        name="Plans",
        members={7: X25519PrivateKey.generate().public_key(), 9: X25519PrivateKey.generate().public_key()},
        ephemeral_key=X25519PrivateKey.generate(),
        content_key=bytes(32),
        iv=bytes(12),
    )
    return ref.sign(sealed, Ed25519PrivateKey.generate())


ENTRY = create_entry()
OTHER_FRAMES = [
    {"op": "sync", "room": ROOM, "after": 0, "ref": "a"},
    {"op": "history", "room": ROOM, "before": 12, "limit": 50, "ref": "b"},
    {"op": "typing", "room": ROOM},
    {"op": "roster", "room": ROOM, "from": 0, "ref": "r"},
    {"op": "append", "room": ROOM, "entry": ENTRY, "ref": "e"},
]


def parse(text: str) -> protocol.Frame:
    """What the consumer does with a frame before any database work, in its order."""
    frame = protocol.parse_frame(text)
    protocol.room_id(frame.fields)
    if frame.op == "send":
        protocol.envelope(frame.fields)
    elif frame.op == "sync":
        protocol.envelope_id(frame.fields, "after")
    elif frame.op == "history":
        protocol.envelope_id(frame.fields, "before", optional=True)
        protocol.page_limit(frame.fields)
    elif frame.op == "roster":
        protocol.roster_from(frame.fields)
    elif frame.op == "append":
        roster.entry(frame.fields)
    return frame


def refusal(text: str) -> ApiError | None:
    """The parser's coded refusal of ``text``, or None if it accepts it; any other exception fails the test."""
    try:
        parse(text)
    except ApiError as error:
        assert str(error.code) in ERROR_CODES
        assert isinstance(protocol.error_frame(error), dict)
        json.dumps(protocol.error_frame(error))  # the answer itself can be sent
        return error
    return None


def frame_texts() -> st.SearchStrategy[str]:
    """Frames of every kind: junk text, JSON of any shape, and one-field mutations of valid frames."""
    mutations = st.sampled_from(SEND_FRAMES + OTHER_FRAMES).flatmap(mutated).map(lambda pair: json.dumps(pair[1]))
    return st.one_of(
        texts(),
        deep_nesting(),
        json_values.map(json.dumps),
        st.dictionaries(st.sampled_from(["op", "ref", "room", "envelope", "after", "entry"]), json_values).map(
            json.dumps
        ),
        mutations,
        mutations,
    )


def test_the_valid_frames_parse() -> None:
    for frame in SEND_FRAMES + OTHER_FRAMES:
        assert refusal(json.dumps(frame)) is None, frame


@examples(150)
@given(text=st.one_of(st.text(), st.binary().map(lambda raw: raw.decode("latin-1")), frame_texts()))
def test_any_text_parses_to_a_frame_or_a_coded_refusal(text: str) -> None:
    refusal(text)


@examples(150)
@given(data=st.data())
def test_a_send_frame_with_one_broken_field_is_refused_with_a_code(data: Any) -> None:
    label, frame = data.draw(st.sampled_from(SEND_FRAMES).flatmap(mutated), label="mutation")
    error = refusal(json.dumps(frame))
    kind, _, path = label.partition(" ")
    # Every field is required but `ref`.
    if kind in {"delete", "null"} and path != "ref":
        assert error is not None, label
    if error is not None and error.field:
        # The field named is the one that was broken, one inside it, or one that contains it; or, with another
        # version, the roster head that version must (or must not) carry.
        related = error.field.startswith(path) or path.startswith(error.field)
        assert related or (path == "envelope.v" and error.field.startswith("envelope.roster_")), (label, error.field)


@examples(150)
@given(data=st.data())
def test_an_entry_body_with_one_broken_field_is_refused_with_a_code(data: Any) -> None:
    """Mutations inside the signed body, written back canonically: each is refused as a bad entry (or, for a
    change that keeps every rule, taken), never with another kind of answer."""
    label, body = data.draw(mutated(json.loads(ENTRY["body"])), label="mutation")
    text = json.dumps(body, separators=(",", ":"))
    error = refusal(json.dumps({"op": "append", "room": ROOM, "entry": {**ENTRY, "body": text}}))
    if label.startswith(("delete", "null", "extra")):
        assert error is not None, label
    if error is not None:
        assert error.code in {"bad_entry", "too_large"} and error.field.startswith("entry.body"), (label, error)


def with_wraps(ids: Any, wraps: Any = None) -> str:
    """The second valid send frame (members 7 and 9) with other ``wrap_ids`` and, if given, ``wraps``."""
    frame = json.loads(json.dumps(SEND_FRAMES[1]))
    frame["envelope"]["wrap_ids"] = ids
    if wraps is not None:
        frame["envelope"]["wraps"] = wraps
    return json.dumps(frame)


def blob(size: int) -> str:
    return base64.b64encode(bytes(size)).decode()


@pytest.mark.parametrize(
    ("ids", "wraps", "code", "field"),
    [
        ([9, 7], None, "wrong_type", "envelope.wrap_ids.1"),  # descending
        ([7, 7], None, "wrong_type", "envelope.wrap_ids.1"),  # the same member twice
        ([True, 9], None, "wrong_type", "envelope.wrap_ids.0"),  # a bool is an int to Python, not an id
        ([7, False], None, "wrong_type", "envelope.wrap_ids.1"),
        ([0, 9], None, "wrong_type", "envelope.wrap_ids.0"),
        ([-7, 9], None, "wrong_type", "envelope.wrap_ids.0"),
        ([7.0, 9], None, "wrong_type", "envelope.wrap_ids.0"),
        (["7", 9], None, "wrong_type", "envelope.wrap_ids.0"),
        ([7, None], None, "wrong_type", "envelope.wrap_ids.1"),
        ([7, [9]], None, "wrong_type", "envelope.wrap_ids.1"),
        ([7, 2**63], None, "wrong_type", "envelope.wrap_ids.1"),  # past the largest user id
        ([], blob(0), "bad_length", "envelope.wrap_ids"),
        (list(range(1, 258)), blob(40 * 257), "bad_length", "envelope.wrap_ids"),  # more than MAX_MEMBERS
        ("7,9", None, "wrong_type", "envelope.wrap_ids"),
        ({"7": 1, "9": 2}, None, "wrong_type", "envelope.wrap_ids"),
        ([7, 9], blob(79), "bad_length", "envelope.wraps"),
        ([7, 9], blob(81), "bad_length", "envelope.wraps"),
        ([7, 9], blob(120), "bad_length", "envelope.wraps"),  # three wraps for two ids
        ([7], None, "bad_length", "envelope.wraps"),  # 80 bytes for one id
        ([7, 9], "!" * 108, "bad_base64", "envelope.wraps"),
        ([7, 9], blob(80).rstrip("="), "bad_base64", "envelope.wraps"),
        ([7, 9], blob(80)[:50] + " " + blob(80)[51:], "bad_base64", "envelope.wraps"),
        ([7, 9], [blob(80)], "wrong_type", "envelope.wraps"),
        ([7, 9], {"7": blob(40), "9": blob(40)}, "wrong_type", "envelope.wraps"),  # the old shape
    ],
)
def test_wrap_ids_and_wraps_that_break_a_rule_are_refused_with_a_stable_code(
    ids: Any, wraps: Any, code: str, field: str
) -> None:
    error = refusal(with_wraps(ids, wraps))
    assert error is not None
    assert (error.code, error.field) == (code, field)


@pytest.mark.parametrize("ids", [[1], [2**63 - 1], [7, 9], list(range(1, 257))], ids=["1", "max", "7,9", "256"])
def test_ascending_wrap_ids_with_40_bytes_each_parse(ids: list[int]) -> None:
    frame = protocol.parse_frame(with_wraps(ids, blob(40 * len(ids))))
    parsed = protocol.envelope(frame.fields)
    assert (parsed.wrap_ids, parsed.wraps) == (tuple(ids), bytes(40 * len(ids)))


def test_nesting_deeper_than_the_parser_allows_is_invalid_json() -> None:
    error = refusal('{"op":"send","envelope":' + "[" * 100_000)
    assert error is not None and error.code == "invalid_json"


# --- the same frames on a real socket -----------------------------------------------


@pytest.fixture
def people(transactional_db: None, settings: Any) -> tuple[User, User, Room]:
    """alice and bob, and alice's room with both in it."""
    settings.CACHES = {name: {**config, "KEY_PREFIX": uuid.uuid4().hex} for name, config in settings.CACHES.items()}
    settings.REDIS_KEY_PREFIX = uuid.uuid4().hex
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    alice, bob = make_user("alice"), make_user("bob")
    room, _ = make_room(alice, bob)
    return alice, bob, room


def refused_frames(alice: User, bob: User, room: Room) -> st.SearchStrategy[list[str]]:
    """Frames the parser refuses, aimed at alice's own room, with a ref where the frame can carry one."""
    own = [
        {"op": "send", "room": str(room.id), "envelope": envelope(room, alice.pk, [alice.pk, bob.pk])},
        {"op": "history", "room": str(room.id), "limit": 10},
        {
            "op": "append",
            "room": str(room.id),
            "entry": Chain(room_id=room.id).entry(alice, "create", members=(alice,)),
        },
    ]
    frames = st.one_of(
        frame_texts(),
        st.sampled_from(own).flatmap(mutated).map(lambda pair: json.dumps(pair[1])),
    )
    return st.lists(frames.filter(lambda text: refusal(text) is not None), min_size=4, max_size=10)


async def exchange_frames(alice: User, bob: User, room: Room, texts: list[str]) -> None:
    channel_layers.backends.clear()  # the layer belongs to the event loop that made it
    communicator = await connect(alice)
    connected, _ = await communicator.connect()
    assert connected
    try:
        await next_of(communicator, "ready")
        for text in texts:
            # send_input, not send_to: an empty text frame is a frame too.
            await communicator.send_input({"type": "websocket.receive", "text": text})
            error = await next_of(communicator, "error")
            expected = refusal(text)
            assert expected is not None
            assert error["code"] == str(expected.code), (text[:200], error)
            assert error["code"] in ERROR_CODES
        # Refused frames past the parser, decided by the services: not mine to send, members that are not the room's,
        # a roster head that is not the room's, an entry for a room that exists.
        env = envelope(room, alice.pk, [alice.pk])
        await communicator.send_json_to({"op": "send", "room": str(room.id), "envelope": env, "ref": "m"})
        assert (await next_of(communicator, "error"))["code"] == "members_changed"
        env = envelope(room, bob.pk, [alice.pk, bob.pk])
        await communicator.send_json_to({"op": "send", "room": str(room.id), "envelope": env, "ref": "f"})
        assert (await next_of(communicator, "error"))["code"] == "forbidden"
        env = envelope(room.id, alice.pk, [alice.pk, bob.pk])
        await communicator.send_json_to({"op": "send", "room": str(room.id), "envelope": env, "ref": "v1"})
        assert (await next_of(communicator, "error"))["code"] == "roster_changed"
        entry = await database_sync_to_async(Chain(room_id=room.id).entry)(alice, "create", members=(alice,))
        await communicator.send_json_to({"op": "append", "room": str(room.id), "entry": entry, "ref": "c"})
        assert (await next_of(communicator, "error"))["code"] == "conflict"
        await communicator.send_to(bytes_data=b'{"op":"typing"}')
        assert (await next_of(communicator, "error"))["code"] == "invalid_json"
        # Still open, still answering.
        await communicator.send_json_to({"op": "history", "room": str(room.id), "ref": "h"})
        answer = await next_of(communicator, "envelopes")
        assert (answer["ref"], answer["items"]) == ("h", [])
        assert await database_sync_to_async(Envelope.objects.count)() == 0
        assert await database_sync_to_async(RosterEntry.objects.count)() == 2
    finally:
        await communicator.disconnect()
        channel_layers.backends.clear()


@examples(6)
@given(data=st.data())
def test_a_socket_answers_each_refused_frame_with_an_error_stays_open_and_stores_nothing(
    people: tuple[User, User, Room], data: Any
) -> None:
    texts = data.draw(refused_frames(*people), label="frames")
    asyncio.run(exchange_frames(*people, known_bad(*people) + texts))


def known_bad(alice: User, bob: User, room: Room) -> list[str]:
    """Frames that once ended the consumer with an exception (RecursionError, ValueError from int())."""
    frames = ['{"op":"send","envelope":' + "[" * 100_000, ""]
    for key in ("²", "9" * 5000):  # once wrap keys; now ids, as text and as a number too long for int()
        env = envelope(room, alice.pk, [alice.pk])
        env["wrap_ids"] = [key]
        frames.append(json.dumps({"op": "send", "room": str(room.id), "envelope": env, "ref": "k"}))
        frames.append(frames[-1].replace(json.dumps([key]), f"[{key}]"))
    return frames
