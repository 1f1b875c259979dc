"""The reference roster (tests/reference_roster.py) does what docs/PROTOCOL.md says, byte for byte, and agrees with
the server's edge parser (chat/roster.py) on which entries are well formed. No Django, no database.

Shared vectors pin the reference to the browser's implementation; these tests pin it to the document.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from chat import protocol, roster
from tests import reference_envelope
from tests import reference_roster as ref
from tests.reference_crypto import RAW_PUBLIC, to_b64
from toolkit.errors import ApiError
from toolkit.validation import Fields

ROOM = "7d1e5c2a-3b4f-4c6d-8e9f-0a1b2c3d4e5f"
AT = 1_763_790_000_000


class People:
    """Users 7, 9 and 11 with their keys, and a key lookup as a browser's key history gives it."""

    def __init__(self) -> None:
        self.signing = {user: Ed25519PrivateKey.generate() for user in (7, 9, 11)}
        self.agreement = {user: X25519PrivateKey.generate() for user in (7, 9, 11)}

    def keys(self, user: int, version: int) -> Ed25519PublicKey | None:
        return self.signing[user].public_key() if version == 1 and user in self.signing else None

    def sealed(
        self, body: dict[str, Any], members: set[int], link: bytes | None = None, name: str = "Plans"
    ) -> dict[str, Any]:
        """``body`` with its meta sealed over it for ``members`` (and the link's holder)."""
        return ref.with_meta(
            body,
            name=name,
            link_secret=link,
            members={user: self.agreement[user].public_key() for user in members},
            ephemeral_key=X25519PrivateKey.generate(),
            content_key=os.urandom(32),
            iv=os.urandom(12),
        )


def next_body(state: ref.State, people: People, op: str, actor: int, **fields: Any) -> dict[str, Any]:
    members_after = set(state.members)
    member = fields.pop("member", None)
    if op in ("add", "join"):
        members_after.add(member)
    elif op in ("remove", "leave"):
        members_after.discard(member)
    link = fields.pop("link_secret", None)
    open_after = link if op == "link" else fields.pop("open_link", None)
    head = {"room": ROOM, "seq": state.seq + 1, "prev": state.head_b64, "at": AT, "actor": actor, "actor_key": 1}
    if member is not None:
        body = ref.member_body(op, **head, member=(member, 1), **fields)
    elif op == "link":
        body = ref.link_body(**head, link=to_b64(ref.link_public_key(link)) if link else "")
    else:
        body = ref.rename_body(**head)
    return people.sealed(body, members_after, open_after)


@pytest.fixture
def people() -> People:
    return People()


@pytest.fixture
def created(people: People) -> tuple[ref.State, dict[str, Any]]:
    body = ref.create_body(room=ROOM, at=AT, actor=7, actor_key=1, kind="group", members=[(7, 1), (9, 1)])
    wire = ref.sign(people.sealed(body, {7, 9}), people.signing[7])
    return ref.apply(None, wire, people.keys), wire


def test_signed_bytes_and_the_hash_are_laid_out_as_documented(created) -> None:
    state, wire = created
    body = wire["body"]
    assert body.startswith(
        f'{{"v":1,"room":"{ROOM}","seq":0,"prev":"","at":{AT},"actor":7,"actor_key":1,"op":"create",'
    )
    assert list(json.loads(body)) == list(ref.BODY_KEYS) and " " not in body
    assert ref.signed_bytes(body) == b"securechat/roster/v1|" + body.encode()
    assert state.head == hashlib.sha256(b"securechat/roster/v1|" + body.encode()).digest()
    assert len(state.head_b64) == 44
    # The server computes the same hash and signed bytes from the wire entry.
    parsed = roster.entry(Fields({"entry": wire}))
    assert (parsed.hash, parsed.signed_bytes) == (state.head, ref.signed_bytes(body))


def test_the_link_key_is_hkdf_of_the_secret_and_its_address_is_base64url(people) -> None:
    secret = bytes(range(32))
    seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"", info=b"securechat/link-key/v1").derive(secret)
    public = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(*RAW_PUBLIC)
    assert ref.link_public_key(secret) == public
    address = ref.link_address(secret)
    assert len(address) == 43 and "=" not in address and roster.link_key(address) == public
    assert ref.link_url("chat.example", secret) == f"https://chat.example/join/#{ref.b64url(secret)}"
    for other in (address + "=", address[:-1], address.replace(address[0], "+" if address[0] != "+" else "/", 1)):
        assert roster.link_key(other) is None


def test_the_meta_opens_for_each_member_after_the_entry_and_for_the_links_holder(people) -> None:
    secret = os.urandom(32)
    head = {"room": ROOM, "seq": 4, "prev": to_b64(bytes(32)), "at": AT, "actor": 7, "actor_key": 1}
    body = people.sealed(ref.rename_body(**head), {9, 7}, secret, name="Ünïcode plans")
    meta = body["meta"]
    assert meta["wrap_ids"] == [7, 9] and len(base64.b64decode(meta["wraps"])) == 80
    assert len(base64.b64decode(meta["ciphertext"])) == 256 + 16 and len(base64.b64decode(meta["link_wrap"])) == 40
    expected = {"name": "Ünïcode plans", "topic": "", "link": ref.b64url(secret)}
    for user in (7, 9):
        assert ref.open_meta(body, my_id=user, agreement_key=people.agreement[user]) == expected
    assert ref.open_meta_with_link(body, link_secret=secret) == expected
    with pytest.raises(ref.RosterError, match="no_wrap"):
        ref.open_meta(body, my_id=11, agreement_key=people.agreement[11])
    with pytest.raises(ref.RosterError, match="decrypt_failed"):
        ref.open_meta_with_link(body, link_secret=os.urandom(32))


def test_the_metas_associated_data_is_the_rest_of_its_entry_and_whom_it_is_sealed_for() -> None:
    prev = to_b64(bytes(32))
    body = ref.member_body("add", room=ROOM, seq=4, prev=prev, at=AT, actor=7, actor_key=1, member=(11, 2))
    expected = (
        f'securechat/room-meta/v1|{{"v":1,"room":"{ROOM}","seq":4,"prev":"{prev}","at":{AT},"actor":7,"actor_key":1,'
        '"op":"add","kind":"","members":[[11,2]],"role":"","link":""}|7,9,11'
    )
    assert ref.meta_aad(body, [7, 9, 11]) == expected.encode()
    assert ref.meta_aad({**body, "meta": {"anything": 1}}, [7, 9, 11]) == expected.encode()  # the meta is left out


@pytest.mark.parametrize(
    "moved",
    [
        {"seq": 5},
        {"room": "00000000-0000-4000-8000-000000000000"},
        {"prev": to_b64(bytes(range(32)))},
        {"actor": 9},
        {"actor_key": 2},
        {"op": "link", "members": []},
        {"members": [[9, 1]]},
        {"at": AT + 1},
    ],
)
def test_a_meta_moved_into_another_entry_does_not_open(people, moved) -> None:
    """The server copies a genuine meta into an entry it made: neither a member nor the link's holder can open it."""
    secret = os.urandom(32)
    head = {"room": ROOM, "seq": 4, "prev": to_b64(bytes(32)), "at": AT, "actor": 7, "actor_key": 1}
    genuine = people.sealed(ref.rename_body(**head), {7, 9}, secret)
    elsewhere = {**genuine, **moved}
    with pytest.raises(ref.RosterError, match="decrypt_failed"):
        ref.open_meta(elsewhere, my_id=7, agreement_key=people.agreement[7])
    with pytest.raises(ref.RosterError, match="decrypt_failed"):
        ref.open_meta_with_link(elsewhere, link_secret=secret)


def test_a_meta_whose_wrap_ids_were_rewritten_does_not_open(people) -> None:
    secret = os.urandom(32)
    head = {"room": ROOM, "seq": 4, "prev": to_b64(bytes(32)), "at": AT, "actor": 7, "actor_key": 1}
    genuine = people.sealed(ref.rename_body(**head), {7, 9}, secret)
    meta = genuine["meta"]
    wraps = base64.b64decode(meta["wraps"])
    # 11 added beside 7 and 9 (wraps for 7 and 9 kept in place): the server would read what is sealed "for" 11.
    rewritten = {**meta, "wrap_ids": [7, 9, 11], "wraps": to_b64(wraps + os.urandom(40))}
    with pytest.raises(ref.RosterError, match="decrypt_failed"):
        ref.open_meta({**genuine, "meta": rewritten}, my_id=7, agreement_key=people.agreement[7])
    with pytest.raises(ref.RosterError, match="decrypt_failed"):
        ref.open_meta_with_link({**genuine, "meta": rewritten}, link_secret=secret)


def test_the_meta_is_padded_like_an_envelope_to_at_most_2048_bytes() -> None:
    assert len(ref.meta_plaintext("x" * 10, "y" * 100)) == 256
    assert len(ref.meta_plaintext("x", "y" * 300)) == 512
    with pytest.raises(ValueError, match="2 048"):
        ref.meta_plaintext("x", "y" * 2100)


def test_a_v2_envelope_signs_the_roster_head_it_names(people) -> None:
    head = (3, to_b64(bytes(range(32))))
    env = reference_envelope.seal(
        room=ROOM,
        sender=7,
        client_id="c0ffee00-0000-4000-8000-000000000001",
        sent_at=AT,
        text="hello",
        members={user: people.agreement[user].public_key() for user in (7, 9)},
        signing_key=people.signing[7],
        ephemeral_key=X25519PrivateKey.generate(),
        content_key=os.urandom(32),
        iv=os.urandom(12),
        roster_head=head,
    )
    assert list(env)[:7] == ["v", "room", "sender", "client_id", "sent_at", "roster_seq", "roster_hash"]
    header = reference_envelope.canonical_header(env)
    assert header.endswith(f',"roster_seq":3,"roster_hash":"{head[1]}"}}'.encode())
    assert reference_envelope.signature_input(env).startswith(b"securechat/envelope/v2|")
    public = people.signing[7].public_key()
    assert reference_envelope.verify(env, public)
    assert not reference_envelope.verify({**env, "roster_seq": 4}, public)
    with pytest.raises(InvalidSignature):  # the v1 label over the same bytes does not verify
        parsed = reference_envelope.parse(env)
        public.verify(parsed.signature, reference_envelope.signed_bytes(header, parsed.eph_pub, parsed.iv,
                                                                        parsed.ciphertext, parsed.wraps))  # fmt: skip
    opened = reference_envelope.open_envelope(
        env,
        my_id=9,
        agreement_key=people.agreement[9],
        signing_public_key=public,
        expected_room=ROOM,
        expected_sender=7,
    )
    assert opened == "hello"
    parsed_by_server = protocol.envelope(Fields({"envelope": env}))
    assert (parsed_by_server.version, parsed_by_server.roster_seq, parsed_by_server.roster_hash) == (
        2,
        3,
        bytes(range(32)),
    )


def test_the_chain_applies_each_change_as_the_table_says(people, created) -> None:
    state, _ = created
    assert (state.owner, sorted(state.members), state.link) == (7, [7, 9], "")

    def step(op: str, actor: int, link_key: Ed25519PrivateKey | None = None, **fields: Any) -> ref.State:
        wire = ref.sign(next_body(state, people, op, actor, **fields), people.signing[actor], link_key)
        return ref.apply(state, wire, people.keys)

    state = step("role", 7, member=9, role="admin")
    state = step("add", 9, member=11)  # an admin adds
    secret = os.urandom(32)
    state = step("link", 9, link_secret=secret)
    assert state.link == to_b64(ref.link_public_key(secret))
    state = step("owner", 7, member=9, open_link=secret)
    assert (state.owner, state.members[7].role) == (9, "admin")
    state = step("leave", 11, member=11, open_link=secret)
    state = step("join", 11, ref.link_signing_key(secret), member=11, link=state.link, open_link=secret)
    assert sorted(state.members) == [7, 9, 11] and state.seq == 6


@pytest.mark.parametrize(
    ("op", "actor", "fields", "reason"),
    [
        ("add", 9, {"member": 11}, "forbidden"),  # neither owner nor admin
        ("remove", 7, {"member": 7}, "forbidden"),  # nobody removes themselves
        ("leave", 7, {"member": 7}, "forbidden"),  # the owner, not the last member
        ("role", 9, {"member": 9, "role": "admin"}, "forbidden"),
        ("rename", 11, {}, "forbidden"),  # not a member
        ("join", 11, {"member": 11, "link": to_b64(bytes(32))}, "forbidden"),  # no link open
    ],
)
def test_the_chain_refuses_a_change_its_actor_may_not_make(people, created, op, actor, fields, reason) -> None:
    state, _ = created
    link_key = Ed25519PrivateKey.generate() if op == "join" else None
    wire = ref.sign(next_body(state, people, op, actor, **fields), people.signing[actor], link_key)
    with pytest.raises(ref.RosterError) as refused:
        ref.apply(state, wire, people.keys)
    assert refused.value.reason == reason


def test_the_chain_refuses_a_replay_a_fork_and_a_forged_signature(people, created) -> None:
    state, create = created
    with pytest.raises(ref.RosterError, match="bad_chain"):
        ref.apply(state, create, people.keys)
    body = next_body(state, people, "rename", 7)
    with pytest.raises(ref.RosterError, match="bad_signature"):
        ref.apply(state, ref.sign(body, people.signing[9]), people.keys)
    forked = {**body, "prev": to_b64(bytes(32))}
    with pytest.raises(ref.RosterError, match="bad_chain"):
        ref.apply(state, ref.sign(forked, people.signing[7]), people.keys)
    sealed_for_one = people.sealed(body, {7})
    with pytest.raises(ref.RosterError, match="wrong_members"):
        ref.apply(state, ref.sign(sealed_for_one, people.signing[7]), people.keys)


def server_refusal(wire: dict[str, Any]) -> ApiError | None:
    try:
        roster.entry(Fields({"entry": wire}))
    except ApiError as error:
        return error
    return None


def reference_refusal(wire: dict[str, Any]) -> ref.RosterError | None:
    try:
        ref.parse_entry(wire)
    except ref.RosterError as error:
        return error
    return None


def with_body(wire: dict[str, Any], change: Any) -> dict[str, Any]:
    body = json.loads(wire["body"])
    text = change(body) if callable(change) else json.dumps({**body, **change}, separators=(",", ":"))
    return {**wire, "body": text}


FORMS = [
    ({}, True),
    ({"seq": 1}, False),
    ({"prev": to_b64(bytes(32))}, False),
    ({"kind": "direct"}, True),  # two people, no link: the form of a direct room
    ({"kind": "direct", "link": to_b64(bytes(32))}, False),
    ({"kind": ""}, False),
    ({"members": [[9, 1], [7, 1]]}, False),
    ({"members": [[9, 1]]}, False),  # the actor not among them
    ({"role": "admin"}, False),
    ({"link": to_b64(bytes(32))}, True),  # a create may open a link at once
    ({"link": to_b64(bytes(31))}, False),
    ({"at": -1}, False),
    ({"actor_key": 0}, False),
    ({"room": ROOM.upper()}, False),
    ({"v": 2}, False),
    (lambda body: json.dumps(body), False),
    (lambda body: json.dumps(body, separators=(",", ":")).replace('"v":1', '"v":1.0'), False),
]


@pytest.mark.parametrize(("change", "well_formed"), FORMS)
def test_the_server_and_the_reference_agree_on_an_entrys_form(created, change, well_formed) -> None:
    _, wire = created
    changed = with_body(wire, change)
    assert (server_refusal(changed) is None) == well_formed, server_refusal(changed)
    assert (reference_refusal(changed) is None) == well_formed, reference_refusal(changed)
