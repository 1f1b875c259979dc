"""Two implementations agree: Python's hashlib reproduces the browser-made safety-number vectors.

tests/vectors/safety-v1.json was produced once by static/js/crypto/safety.js (see
tests/vectors/make_safety_vectors.mjs). A server-side or native client must compute the same 60 digits, so the
algorithm is written out again here from its description in docs/TRUST.md, "Safety numbers". No Django, no database.
"""

from __future__ import annotations

import base64
import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

VECTORS_PATH = Path(__file__).resolve().parents[2] / "tests/vectors/safety-v1.json"
VERSION = 0
ITERATIONS = 5200


@cache
def vectors() -> dict[str, Any]:
    return json.loads(VECTORS_PATH.read_text(encoding="utf-8"))


def b64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def user_digits(signing_public_key: bytes, username: str) -> str:
    """30 digits: 5200 rounds of SHA-512 over the key, then six 40-bit big-endian chunks mod 100000."""
    assert len(signing_public_key) == 32
    digest = hashlib.sha512(VERSION.to_bytes(2, "big") + signing_public_key + username.lower().encode()).digest()
    for _ in range(ITERATIONS):
        digest = hashlib.sha512(digest + signing_public_key).digest()
    chunks = (int.from_bytes(digest[i : i + 5], "big") % 100_000 for i in range(0, 30, 5))
    return "".join(f"{chunk:05d}" for chunk in chunks)


def safety_number(a: tuple[bytes, str], b: tuple[bytes, str]) -> str:
    return "".join(sorted((user_digits(*a), user_digits(*b))))


def party(name: str) -> tuple[bytes, str]:
    p = vectors()[name]
    return b64(p["signing_public_key"]), p["username"]


def test_vectors_use_the_documented_fixed_inputs() -> None:
    v = vectors()
    assert v["version"] == VERSION
    assert v["iterations"] == ITERATIONS
    assert (v["alice"]["username"], b64(v["alice"]["signing_seed"])) == ("alice", bytes([0x01]) * 32)
    assert (v["bob"]["username"], b64(v["bob"]["signing_seed"])) == ("bob", bytes([0x02]) * 32)


@pytest.mark.parametrize("name", ["alice", "bob"])
def test_the_signing_public_key_is_the_ed25519_key_of_the_seed(name: str) -> None:
    p = vectors()[name]
    public = Ed25519PrivateKey.from_private_bytes(b64(p["signing_seed"])).public_key()
    assert public.public_bytes(Encoding.Raw, PublicFormat.Raw) == b64(p["signing_public_key"])


@pytest.mark.parametrize("name", ["alice", "bob"])
def test_each_users_30_digits_match(name: str) -> None:
    digits = user_digits(*party(name))
    assert len(digits) == 30
    assert digits.isdigit()
    assert digits == vectors()[name]["digits"]


def test_the_username_is_hashed_in_lower_case() -> None:
    v = vectors()
    mixed = v["alice_mixed_case"]
    assert mixed["username"] == "Alice"
    assert user_digits(b64(v["alice"]["signing_public_key"]), mixed["username"]) == mixed["digits"]
    assert mixed["digits"] == v["alice"]["digits"]


def test_the_safety_number_is_the_sorted_pair_whatever_the_order() -> None:
    v = vectors()
    alice, bob = party("alice"), party("bob")
    assert safety_number(alice, bob) == safety_number(bob, alice) == v["safety_number"]
    assert len(v["safety_number"]) == 60


def test_the_groups_are_twelve_runs_of_five_digits() -> None:
    v = vectors()
    number = v["safety_number"]
    assert v["groups"] == [number[i : i + 5] for i in range(0, 60, 5)]
    assert len(v["groups"]) == 12


def test_another_key_or_username_gives_another_number() -> None:
    alice_key, _ = party("alice")
    bob = party("bob")
    reference = vectors()["safety_number"]
    assert safety_number((alice_key, "alicia"), bob) != reference
    assert safety_number((bytes([0x03]) * 32, "alice"), bob) != reference
