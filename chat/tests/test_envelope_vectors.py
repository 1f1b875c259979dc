"""Two implementations agree: Python's `cryptography` opens, checks and re-makes the browser's envelope v1 vector.

tests/vectors/envelope-v1.json was produced once by static/js/crypto/envelope.js (see
tests/vectors/make_envelope_vectors.mjs). The Python side is tests/reference_envelope.py. No Django, no database.
"""

from __future__ import annotations

import copy
import hashlib
import json
import struct
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap, aes_key_wrap

from tests import reference_envelope as ref
from tests.reference_crypto import RAW_PUBLIC, b64, to_b64

VECTORS_PATH = Path(__file__).resolve().parents[2] / "tests/vectors/envelope-v1.json"
# SHA-256 of the vector's signature input when wraps were still a JSON map: the blob shape signs the same bytes.
FIRST_SIGNATURE_INPUT_SHA256 = "7a63f74f51f5c2d4c8351d903666316a721f5acec9d6e4b458df456b3d3836ff"


@cache
def vectors() -> dict[str, Any]:
    return json.loads(VECTORS_PATH.read_text(encoding="utf-8"))


def envelope() -> dict[str, Any]:
    return copy.deepcopy(vectors()["envelope"])


def inputs() -> dict[str, Any]:
    return vectors()["inputs"]


def signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(b64(inputs()["sender"]["signing_seed"]))


def signing_public_key() -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(b64(inputs()["sender"]["signing_public_key"]))


def agreement_key(member_id: int) -> X25519PrivateKey:
    member = next(m for m in inputs()["members"] if m["id"] == member_id)
    return X25519PrivateKey.from_private_bytes(b64(member["agreement_seed"]))


def ephemeral_key() -> X25519PrivateKey:
    return X25519PrivateKey.from_private_bytes(b64(inputs()["ephemeral_seed"]))


def open_as(member_id: int, env: dict[str, Any] | None = None) -> str:
    return ref.open_envelope(
        envelope() if env is None else env,
        my_id=member_id,
        agreement_key=agreement_key(member_id),
        signing_public_key=signing_public_key(),
        expected_room=inputs()["room"],
        expected_sender=inputs()["sender"]["id"],
    )


def wrap_of(env: dict[str, Any], member_id: int) -> bytes:
    """One member's 40 bytes, cut from the concatenated wraps at that member's place in wrap_ids."""
    index = env["wrap_ids"].index(member_id)
    return b64(env["wraps"])[40 * index : 40 * (index + 1)]


def flip(b64_text: str, index: int = 0) -> str:
    data = bytearray(b64(b64_text))
    data[index] ^= 0x01
    return to_b64(bytes(data))


def test_vectors_use_the_documented_fixed_inputs() -> None:
    i = inputs()
    assert i["text"] == "Hello, Bob! 👋"
    assert (i["sender"]["id"], [m["id"] for m in i["members"]]) == (3, [3, 11])
    assert b64(i["sender"]["signing_seed"]) == bytes(range(0x01, 0x21))
    assert b64(i["ephemeral_seed"]) == bytes(range(0x61, 0x81))
    assert b64(i["content_key"]) == bytes(range(0x81, 0xA1))
    assert b64(i["iv"]) == bytes(range(0xA1, 0xAD))
    assert vectors()["labels"] == {"envelope": "securechat/envelope/v1|", "wrap": "securechat/wrap/v1|"}
    assert ref.LABEL_ENVELOPE.decode() == vectors()["labels"]["envelope"]
    assert ref.INFO_ENVELOPE_WRAP == vectors()["labels"]["wrap"]


def test_python_derives_the_same_public_keys_from_the_seeds() -> None:
    i = inputs()
    assert to_b64(signing_key().public_key().public_bytes(*RAW_PUBLIC)) == i["sender"]["signing_public_key"]
    for member in i["members"]:
        public = agreement_key(member["id"]).public_key().public_bytes(*RAW_PUBLIC)
        assert to_b64(public) == member["agreement_public_key"]
    assert to_b64(ephemeral_key().public_key().public_bytes(*RAW_PUBLIC)) == vectors()["envelope"]["eph_pub"]


def test_canonical_header_bytes() -> None:
    header = ref.canonical_header(envelope())
    assert header.decode("ascii") == vectors()["header"]
    assert header == (
        b'{"v":1,"room":"7d1e5c2a-3b4f-4c6d-8e9f-0a1b2c3d4e5f","sender":3,'
        b'"client_id":"c0ffee00-1234-4abc-8def-0123456789ab","sent_at":1763790000000}'
    )


def test_signature_input_is_laid_out_as_documented_and_verifies() -> None:
    env = envelope()
    header = vectors()["header"].encode()
    ciphertext = b64(env["ciphertext"])
    expected = b"".join(
        [
            b"securechat/envelope/v1|",
            struct.pack(">I", len(header)),
            header,
            b64(env["eph_pub"]),
            b64(env["iv"]),
            struct.pack(">I", len(ciphertext)),
            ciphertext,
            # Numeric order: 3 before 11, although "11" < "3" as strings.
            (3).to_bytes(8, "big"),
            wrap_of(env, 3),
            (11).to_bytes(8, "big"),
            wrap_of(env, 11),
        ]
    )
    assert ref.signature_input(env) == expected
    assert to_b64(expected) == vectors()["signature_input"]
    signing_public_key().verify(b64(env["signature"]), expected)
    assert ref.verify(env, signing_public_key())


@pytest.mark.parametrize("member_id", [3, 11])
def test_each_member_derives_its_kek_and_unwraps_the_content_key(member_id: int) -> None:
    step = next(w for w in vectors()["wraps"] if w["id"] == member_id)
    env = envelope()
    eph_pub = b64(env["eph_pub"])
    info = ref.wrap_info(env["room"], env["client_id"], member_id)
    assert info.decode() == step["info"]
    # The member's side (my agreement key, eph_pub) and the sender's side (eph key, member's key) agree.
    shared = agreement_key(member_id).exchange(X25519PublicKey.from_public_bytes(eph_pub))
    assert shared == ephemeral_key().exchange(agreement_key(member_id).public_key())
    assert to_b64(shared) == step["shared_secret"]
    kek = ref.kek(shared, eph_pub, info)
    assert to_b64(kek) == step["kek"]
    wrap = wrap_of(env, member_id)
    assert aes_key_unwrap(kek, wrap) == b64(inputs()["content_key"])
    assert aes_key_wrap(kek, b64(inputs()["content_key"])) == wrap


def test_decrypting_with_the_header_as_aad_and_stripping_the_padding_gives_the_text() -> None:
    env = envelope()
    padded = AESGCM(b64(inputs()["content_key"])).decrypt(
        b64(env["iv"]), b64(env["ciphertext"]), vectors()["header"].encode()
    )
    assert len(padded) == 256
    assert to_b64(padded) == vectors()["payload"]["padded"]
    payload = ref.unpad(padded)
    assert payload.decode("utf-8") == vectors()["payload"]["json"]
    assert json.loads(payload) == {"text": "Hello, Bob! 👋"}


def test_the_header_is_the_aad() -> None:
    env = envelope()
    other_header = vectors()["header"].replace('"sender":3', '"sender":4').encode()
    with pytest.raises(InvalidTag):
        AESGCM(b64(inputs()["content_key"])).decrypt(b64(env["iv"]), b64(env["ciphertext"]), other_header)


@pytest.mark.parametrize("member_id", [3, 11])
def test_python_opens_the_browser_envelope_as_each_member(member_id: int) -> None:
    assert open_as(member_id) == "Hello, Bob! 👋"


def test_python_seals_the_same_envelope_byte_for_byte() -> None:
    i = inputs()
    made = ref.seal(
        room=i["room"],
        sender=i["sender"]["id"],
        client_id=i["client_id"],
        sent_at=i["sent_at"],
        text=i["text"],
        members={m["id"]: agreement_key(m["id"]).public_key() for m in i["members"]},
        signing_key=signing_key(),
        ephemeral_key=ephemeral_key(),
        content_key=b64(i["content_key"]),
        iv=b64(i["iv"]),
    )
    assert made == vectors()["envelope"]
    assert json.dumps(made) == json.dumps(vectors()["envelope"])


def test_the_wraps_travel_as_ids_and_one_blob_signed_as_before() -> None:
    env = envelope()
    assert list(env)[-4:] == ["ciphertext", "wrap_ids", "wraps", "signature"]
    assert env["wrap_ids"] == [3, 11]
    assert len(b64(env["wraps"])) == 80
    # The signed bytes did not change with the JSON shape: this is the signature input of the first v1 vector.
    assert hashlib.sha256(b64(vectors()["signature_input"])).hexdigest() == FIRST_SIGNATURE_INPUT_SHA256
    assert ref.signature_input(env) == b64(vectors()["signature_input"])


@pytest.mark.parametrize(
    ("label", "change"),
    [
        ("wrap_ids missing", {"wrap_ids": None}),
        ("wrap_ids descending", {"wrap_ids": [11, 3]}),
        ("wrap_ids duplicate", {"wrap_ids": [3, 3]}),
        ("wrap_ids empty", {"wrap_ids": [], "wraps": ""}),
        ("wrap id 0", {"wrap_ids": [0, 11]}),
        ("wrap id a bool", {"wrap_ids": [True, 11]}),
        ("wrap id a string", {"wrap_ids": ["3", 11]}),
        ("wrap id a float", {"wrap_ids": [3.0, 11]}),
        ("wrap id beyond 2**53", {"wrap_ids": [3, 2**53]}),
        ("too many ids", {"wrap_ids": list(range(1, 258)), "wraps": to_b64(bytes(40 * 257))}),
        ("wraps one byte short", {"wraps": to_b64(bytes(79))}),
        ("wraps for three", {"wraps": to_b64(bytes(120))}),
        ("wraps not base64", {"wraps": "!" * 108}),
        ("wraps unpadded", {"wraps": "A" * 107}),
        ("wraps in the old shape", {"wraps": {"3": to_b64(bytes(40)), "11": to_b64(bytes(40))}}),
    ],
)
def test_the_reference_refuses_what_the_browser_refuses(label: str, change: dict[str, Any]) -> None:
    env = {**envelope(), **change}
    if change.get("wrap_ids", 0) is None:
        del env["wrap_ids"]
    with pytest.raises(ref.EnvelopeError) as caught:
        ref.parse(env)
    assert caught.value.reason == "malformed", label
    assert not ref.verify(env, signing_public_key())


def test_flipping_one_ciphertext_byte_breaks_the_signature() -> None:
    env = envelope()
    env["ciphertext"] = flip(env["ciphertext"], 100)
    with pytest.raises(InvalidSignature):
        signing_public_key().verify(b64(env["signature"]), ref.signature_input(env))
    assert not ref.verify(env, signing_public_key())
    with pytest.raises(ref.EnvelopeError) as caught:
        open_as(11, env)
    assert caught.value.reason == "bad_signature"


def test_a_non_member_and_wrong_routing_are_refused_in_the_documented_order() -> None:
    with pytest.raises(ref.EnvelopeError) as caught:
        ref.open_envelope(
            envelope(),
            my_id=12,
            agreement_key=X25519PrivateKey.generate(),
            signing_public_key=signing_public_key(),
            expected_room=inputs()["room"],
            expected_sender=3,
        )
    assert caught.value.reason == "no_wrap"
    env = envelope()
    env["ciphertext"] = flip(env["ciphertext"])
    with pytest.raises(ref.EnvelopeError) as caught:
        ref.open_envelope(
            env,
            my_id=11,
            agreement_key=agreement_key(11),
            signing_public_key=signing_public_key(),
            expected_room=inputs()["room"],
            expected_sender=4,
        )
    assert caught.value.reason == "wrong_sender"


def test_padding_is_iso_7816_4_to_whole_blocks() -> None:
    assert ref.pad(b"") == b"\x80" + b"\x00" * 255
    assert len(ref.pad(b"x" * 255)) == 256
    assert len(ref.pad(b"x" * 256)) == 512
    for size in (0, 1, 255, 256, 257, 1000):
        assert ref.unpad(ref.pad(b"y" * size)) == b"y" * size
    for bad in (b"", b"\x00" * 256, b"x" * 255 + b"\x01", b"x" * 100, b"\x80" + b"\x00" * 511):
        with pytest.raises(ValueError, match="padd"):
            ref.unpad(bad)
