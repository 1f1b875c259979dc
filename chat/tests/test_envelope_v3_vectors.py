"""Two implementations agree on envelope v3: Python's `cryptography` opens, checks and re-makes the browser's vector.

tests/vectors/envelope-v3.json was produced once by static/js/crypto/envelope.js (see
tests/vectors/make_envelope_vectors.mjs). The Python side is tests/reference_envelope.py. No Django, no database.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from tests import reference_envelope as ref
from tests.reference_crypto import b64, to_b64

VECTORS_PATH = Path(__file__).resolve().parents[2] / "tests/vectors/envelope-v3.json"


@cache
def vectors() -> dict[str, Any]:
    return json.loads(VECTORS_PATH.read_text(encoding="utf-8"))


def envelope() -> dict[str, Any]:
    return copy.deepcopy(vectors()["envelope"])


def inputs() -> dict[str, Any]:
    return vectors()["inputs"]


def agreement_key(member_id: int) -> X25519PrivateKey:
    member = next(m for m in inputs()["members"] if m["id"] == member_id)
    return X25519PrivateKey.from_private_bytes(b64(member["agreement_seed"]))


def open_as(member_id: int, env: dict[str, Any]) -> str:
    return ref.open_envelope(
        env,
        my_id=member_id,
        agreement_key=agreement_key(member_id),
        signing_public_key=Ed25519PublicKey.from_public_bytes(b64(inputs()["sender"]["signing_public_key"])),
        expected_room=inputs()["room"],
        expected_sender=inputs()["sender"]["id"],
    )


def seal(**overrides: Any) -> dict[str, Any]:
    i = inputs()
    arguments: dict[str, Any] = {
        "room": i["room"],
        "sender": i["sender"]["id"],
        "client_id": i["client_id"],
        "sent_at": i["sent_at"],
        "text": i["text"],
        "members": {m["id"]: agreement_key(m["id"]).public_key() for m in i["members"]},
        "signing_key": Ed25519PrivateKey.from_private_bytes(b64(i["sender"]["signing_seed"])),
        "ephemeral_key": X25519PrivateKey.from_private_bytes(b64(i["ephemeral_seed"])),
        "content_key": b64(i["content_key"]),
        "iv": b64(i["iv"]),
        "roster_head": (i["roster_head"]["seq"], i["roster_head"]["hash"]),
        "key_version": i["key_version"],
        "chain": (i["chain"]["seq"], i["chain"]["prev"]),
    }
    return ref.seal(**(arguments | overrides))


def test_the_labels_and_header_are_the_documented_ones() -> None:
    assert vectors()["labels"] == {
        "envelope": "securechat/envelope/v3|",
        "wrap": "securechat/wrap/v1|",
        "key_commit": "securechat/key-commit/v1",
    }
    assert ref.canonical_header(envelope()).decode() == vectors()["header"]
    assert list(envelope())[:11] == [*ref.HEADER_FIELDS_V3]


def test_python_seals_the_same_envelope_byte_for_byte() -> None:
    assert json.dumps(seal()) == json.dumps(vectors()["envelope"])


@pytest.mark.parametrize("member_id", [3, 11])
def test_python_opens_the_browser_envelope_as_each_member(member_id: int) -> None:
    assert open_as(member_id, envelope()) == "Hello, Bob! 👋"


def test_the_commitment_and_the_chain_hash_match_the_browser() -> None:
    assert to_b64(ref.key_commitment(b64(inputs()["content_key"]))) == envelope()["key_commit"]
    assert ref.envelope_hash(envelope()) == vectors()["envelope_hash"]
    assert to_b64(ref.signature_input(envelope())) == vectors()["signature_input"]


def test_a_key_wrapped_for_one_member_that_is_not_the_committed_one_is_key_mismatch() -> None:
    forged = seal(wrapped_keys={11: bytes(range(32))})
    assert open_as(3, forged) == "Hello, Bob! 👋"
    with pytest.raises(ref.EnvelopeError) as caught:
        open_as(11, forged)
    assert caught.value.reason == "key_mismatch"


@pytest.mark.parametrize(
    ("label", "change"),
    [
        ("chain_prev on the first", {"chain_seq": 1}),
        ("no chain_prev after the first", {"chain_prev": None}),
        ("key_version 0", {"key_version": 0}),
        ("half a roster head", {"roster_hash": None}),
        ("key_commit short", {"key_commit": to_b64(bytes(31))}),
    ],
)
def test_the_reference_refuses_what_the_browser_refuses(label: str, change: dict[str, Any]) -> None:
    with pytest.raises(ref.EnvelopeError) as caught:
        ref.parse(envelope() | change)
    assert caught.value.reason == "malformed", label


def test_a_room_from_before_rosters_takes_a_v3_envelope_with_a_null_head() -> None:
    made = seal(roster_head=None)
    assert (made["roster_seq"], made["roster_hash"]) == (None, None)
    assert open_as(11, made) == "Hello, Bob! 👋"
