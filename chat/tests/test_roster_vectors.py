"""The Python reference (tests/reference_roster.py, tests/reference_envelope.py) reproduces the browser's roster
vectors (tests/vectors/roster-v1.json, made by static/js through tests/vectors/make_roster_vectors.mjs) byte for byte:
every entry's meta, body, signatures and hash rebuilt from the fixed inputs, the chain's states, who can read each
name, and the v2 envelope. Node and Chromium check the same file (tests/js/roster-vectors.test.js,
tests/browser/test_roster_in_chromium.py)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from tests import reference_envelope as ref_envelope
from tests import reference_roster as ref
from tests.reference_crypto import RAW_PUBLIC

V = json.loads((Path(__file__).resolve().parents[2] / "tests/vectors/roster-v1.json").read_text(encoding="utf-8"))
PEOPLE = {person["id"]: person for person in V["people"]}
BY_NAME = {person["name"]: person for person in V["people"]}


def b(text: str) -> bytes:
    return base64.b64decode(text)


def signing_key(person: dict[str, Any]) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(b(person["signing_seed"]))


def agreement_key(person: dict[str, Any]) -> X25519PrivateKey:
    return X25519PrivateKey.from_private_bytes(b(person["agreement_seed"]))


def keys(user_id: int, key_version: int) -> Ed25519PublicKey | None:
    person = PEOPLE.get(user_id)
    return None if person is None or key_version != 1 else signing_key(person).public_key()


def sealed(body: dict[str, Any], vector: dict[str, Any], members: list[int]) -> dict[str, Any]:
    """``body`` with its meta sealed over it from the vector's fixed inputs."""
    plain = vector["meta_plaintext"]
    return ref.with_meta(
        body,
        name=plain["name"],
        topic=plain["topic"],
        link_secret=ref.from_b64url(plain["link"]) if plain["link"] else None,
        members={member: agreement_key(PEOPLE[member]).public_key() for member in members},
        ephemeral_key=X25519PrivateKey.from_private_bytes(b(vector["ephemeral_seed"])),
        content_key=b(vector["content_key"]),
        iv=b(vector["iv"]),
    )


def test_the_people_and_the_link_key_come_from_their_seeds() -> None:
    for person in V["people"]:
        public = signing_key(person).public_key().public_bytes(*RAW_PUBLIC)
        assert base64.b64encode(public).decode() == person["signing_public_key"]
        agreement = agreement_key(person).public_key().public_bytes(*RAW_PUBLIC)
        assert base64.b64encode(agreement).decode() == person["agreement_public_key"]
    secret = ref.from_b64url(V["link"]["secret"])
    assert base64.b64encode(ref.link_public_key(secret)).decode() == V["link"]["public_key"]


@pytest.mark.parametrize("seq", range(len(V["entries"])))
def test_python_rebuilds_each_entry_byte_for_byte(seq: int) -> None:
    vector = V["entries"][seq]
    wire = vector["entry"]
    parsed = json.loads(wire["body"])
    members_after = [member[0] for member in vector["state"]["members"]]
    unsealed = ref.body(
        room=V["room"],
        seq=seq,
        prev=V["entries"][seq - 1]["hash"] if seq else "",
        at=vector["at"],
        actor=BY_NAME[vector["actor"]]["id"],
        actor_key=1,
        op=parsed["op"],
        kind=parsed["kind"],
        members=[tuple(pair) for pair in parsed["members"]],
        role=parsed["role"],
        link=parsed["link"],
    )
    assert ref.meta_aad(unsealed, members_after).decode() == vector["meta_aad"]
    body = sealed(unsealed, vector, members_after)
    assert body["meta"] == parsed["meta"]
    link_key = ref.link_signing_key(ref.from_b64url(V["link"]["secret"])) if parsed["op"] == "join" else None
    assert ref.sign(body, signing_key(BY_NAME[vector["actor"]]), link_key) == wire
    assert base64.b64encode(ref.signed_bytes(wire["body"])).decode() == vector["signed_bytes"]
    assert base64.b64encode(ref.entry_hash(wire["body"])).decode() == vector["hash"]


def test_the_reference_chain_reaches_the_documented_states() -> None:
    state = None
    for vector in V["entries"]:
        state = ref.apply(state, vector["entry"], keys)
        assert base64.b64encode(state.head).decode() == vector["hash"]
        assert [[member, info.key_version, info.role] for member, info in sorted(state.members.items())] == vector[
            "state"
        ]["members"]
        assert (state.owner, state.link) == (vector["state"]["owner"], vector["state"]["link"])
    direct = ref.apply(None, V["direct"]["entry"], keys)
    assert (direct.kind, sorted(direct.members), direct.owner) == ("direct", [3, 11], None)
    assert base64.b64encode(direct.head).decode() == V["direct"]["hash"]


def test_each_name_opens_for_exactly_the_members_after_its_entry_and_for_the_link_while_open() -> None:
    for vector in V["entries"]:
        body = json.loads(vector["entry"]["body"])
        readers = []
        for person in V["people"]:
            try:
                opened = ref.open_meta(body, my_id=person["id"], agreement_key=agreement_key(person))
            except ref.RosterError:
                continue
            assert opened == vector["meta_plaintext"]
            readers.append(person["id"])
        assert readers == [member[0] for member in vector["state"]["members"]]
        if vector["meta_plaintext"]["link"]:
            secret = ref.from_b64url(vector["meta_plaintext"]["link"])  # the link open then (a removal replaced it)
            through_link = ref.open_meta_with_link(body, link_secret=secret)
            assert through_link == vector["meta_plaintext"]


def test_python_makes_the_same_v2_envelope_and_it_opens_for_the_heads_members() -> None:
    vector = V["envelope_v2"]
    envelope = vector["envelope"]
    head = V["entries"][-1]
    members = [member[0] for member in head["state"]["members"]]
    bob = BY_NAME["bob"]
    made = ref_envelope.seal(
        room=V["room"],
        sender=bob["id"],
        client_id=envelope["client_id"],
        sent_at=envelope["sent_at"],
        text=vector["text"],
        members={member: agreement_key(PEOPLE[member]).public_key() for member in members},
        signing_key=signing_key(bob),
        ephemeral_key=X25519PrivateKey.from_private_bytes(b(vector["ephemeral_seed"])),
        content_key=b(vector["content_key"]),
        iv=b(vector["iv"]),
        roster_head=(head["state"]["seq"], head["hash"]),
    )
    assert made == envelope
    assert ref_envelope.canonical_header(envelope).decode() == vector["header"]
    assert base64.b64encode(ref_envelope.signature_input(envelope)).decode() == vector["signature_input"]
    for member in members:
        opened = ref_envelope.open_envelope(
            envelope,
            my_id=member,
            agreement_key=agreement_key(PEOPLE[member]),
            signing_public_key=signing_key(bob).public_key(),
            expected_room=V["room"],
            expected_sender=bob["id"],
        )
        assert opened == vector["text"]
