"""Two implementations agree on payload kinds: Python re-makes and opens every case of the browser's vectors.

tests/vectors/payload-kinds-v1.json was produced once by static/js/crypto/envelope.js and payload.js (see
tests/vectors/make_payload_vectors.mjs). The Python side is tests/reference_envelope.py. No Django, no database.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from tests import reference_envelope as ref
from tests.reference_crypto import b64

VECTORS_PATH = Path(__file__).resolve().parents[2] / "tests/vectors/payload-kinds-v1.json"


@cache
def vectors() -> dict[str, Any]:
    return json.loads(VECTORS_PATH.read_text(encoding="utf-8"))


def cases() -> list[dict[str, Any]]:
    return vectors()["cases"]


def agreement_key(member_id: int) -> X25519PrivateKey:
    member = next(m for m in vectors()["inputs"]["members"] if m["id"] == member_id)
    return X25519PrivateKey.from_private_bytes(b64(member["agreement_seed"]))


def signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(b64(vectors()["inputs"]["sender"]["signing_seed"]))


def seal(index: int) -> dict[str, Any]:
    """The case at ``index`` as Python makes it: from its payload if a sender could write it, else its JSON."""
    i, case = vectors()["inputs"], cases()[index]
    previous = ref.envelope_hash(cases()[index - 1]["envelope"]) if index else None
    content = {"payload": case["payload"]} if "payload" in case else {"text": "", "payload_json": case["json"].encode()}
    return ref.seal(
        room=i["room"],
        sender=i["sender"]["id"],
        client_id=case["envelope"]["client_id"],
        sent_at=i["sent_at"] + 1000 * index,
        members={m["id"]: agreement_key(m["id"]).public_key() for m in i["members"]},
        signing_key=signing_key(),
        ephemeral_key=X25519PrivateKey.from_private_bytes(b64(i["ephemeral_seed"])),
        content_key=b64(i["content_key"]),
        iv=b64(i["iv"]),
        roster_head=(i["roster_head"]["seq"], i["roster_head"]["hash"]),
        key_version=i["key_version"],
        chain=(index + 1, previous),
        **content,
    )


def open_as(member_id: int, envelope: dict[str, Any]) -> dict[str, Any]:
    return ref.open_payload(
        envelope,
        my_id=member_id,
        agreement_key=agreement_key(member_id),
        signing_public_key=signing_key().public_key(),
        expected_room=vectors()["inputs"]["room"],
        expected_sender=vectors()["inputs"]["sender"]["id"],
    )


NAMES = [case["name"] for case in json.loads(VECTORS_PATH.read_text(encoding="utf-8"))["cases"]]


@pytest.mark.parametrize("index", range(len(NAMES)), ids=NAMES)
def test_python_seals_each_case_byte_for_byte(index: int) -> None:
    case = cases()[index]
    if "payload" in case:
        author = {"sender": case["envelope"]["sender"], "client_id": case["envelope"]["client_id"]}
        assert ref.encode_payload(case["payload"], **author).decode() == case["json"]
    assert json.dumps(seal(index)) == json.dumps(case["envelope"])


@pytest.mark.parametrize("member_id", [3, 11])
@pytest.mark.parametrize("index", range(len(NAMES)), ids=NAMES)
def test_python_opens_each_case_as_the_browser_does(index: int, member_id: int) -> None:
    case = cases()[index]
    if "error" in case:
        with pytest.raises(ref.EnvelopeError) as caught:
            open_as(member_id, case["envelope"])
        assert caught.value.reason == case["error"]
    else:
        assert open_as(member_id, case["envelope"]) == case["opened"]


def test_open_envelope_gives_the_text_of_a_kind_with_text_and_none_otherwise() -> None:
    def text_of(name: str) -> str | None:
        case = next(c for c in cases() if c["name"] == name)
        return ref.open_envelope(
            case["envelope"],
            my_id=11,
            agreement_key=agreement_key(11),
            signing_public_key=signing_key().public_key(),
            expected_room=vectors()["inputs"]["room"],
            expected_sender=3,
        )

    assert text_of("reply") == "Yes, see you there"
    assert text_of("edit") == "Lunch at 12:30? 🍜"
    assert text_of("delete") is None
    assert text_of("unknown kind") is None


@pytest.mark.parametrize(
    "payload",
    [
        {
            "kind": "edit",
            "text": "mine now",
            "target": {"sender": 11, "client_id": "b0b0b0b0-0000-4000-8000-000000000001"},
        },
        {"kind": "reaction", "target": {"sender": 11, "client_id": "b0b0b0b0-0000-4000-8000-000000000001"}, "on": True},
        {"kind": "message", "text": "hi", "quote": "extra"},
        {"kind": "poll"},
    ],
)
def test_the_reference_sealer_refuses_what_the_browser_sealer_refuses(payload: dict[str, Any]) -> None:
    with pytest.raises(TypeError):
        ref.encode_payload(payload, sender=3, client_id="c0ffee00-0000-4000-8000-000000000099")
