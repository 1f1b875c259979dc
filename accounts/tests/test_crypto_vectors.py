"""Two implementations agree: Python's `cryptography` reproduces every browser-made vector.

The vectors in tests/vectors/accounts-v1.json were produced once by the browser modules in
static/js/crypto (see tests/vectors/make_accounts_vectors.mjs). The Python side is
tests/reference_crypto.py, which the browser tests also use to recompute an account's secrets.
No Django, no database.
"""

from __future__ import annotations

import base64
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from tests import reference_crypto as ref
from tests.reference_crypto import b64

VECTORS_PATH = Path(__file__).resolve().parents[2] / "tests/vectors/accounts-v1.json"


@cache
def vectors() -> dict[str, Any]:
    return json.loads(VECTORS_PATH.read_text(encoding="utf-8"))


def master_key() -> bytes:
    p = vectors()["password"]
    return ref.master_key(p["password"], b64(p["salt"]), p["iterations"])


def recovery_key() -> bytes:
    return b64(vectors()["recovery"]["recovery_key"])


def test_vectors_use_the_documented_fixed_inputs() -> None:
    v = vectors()
    assert v["username"] == "alice"
    assert v["password"]["password"] == "correct horse battery staple"
    assert b64(v["password"]["salt"]) == bytes(range(0x00, 0x10))
    assert v["password"]["iterations"] == 1000
    assert recovery_key() == bytes(range(0x20, 0x40))
    assert b64(v["account_key"]) == bytes(range(0x40, 0x60))


def test_info_and_aad_strings_are_the_v1_labels() -> None:
    v = vectors()
    assert v["password"]["auth_info"] == ref.INFO_AUTH == "securechat/auth/v1"
    assert v["password"]["wrap_info"] == ref.INFO_WRAP == "securechat/wrap/v1"
    assert v["recovery"]["auth_info"] == ref.INFO_RECOVERY_AUTH == "securechat/recovery-auth/v1"
    assert v["recovery"]["wrap_info"] == ref.INFO_RECOVERY_WRAP == "securechat/recovery-wrap/v1"
    assert v["account_key_by_password"]["aad"].encode() == ref.aad_account_key_by_password("Alice")
    assert v["account_key_by_recovery"]["aad"].encode() == ref.aad_account_key_by_recovery("Alice")
    assert v["bundle"]["aad"].encode() == ref.aad_bundle("Alice")


def test_python_derives_the_same_auth_key_as_the_browser() -> None:
    assert ref.to_b64(ref.auth_key(master_key())) == vectors()["password"]["auth_key"]


def test_python_wraps_the_account_key_under_the_password_exactly_like_the_browser() -> None:
    slot = vectors()["account_key_by_password"]
    wrap_key = ref.wrap_key(master_key())
    ciphertext = ref.seal(wrap_key, b64(slot["iv"]), b64(vectors()["account_key"]), slot["aad"].encode())
    assert len(ciphertext) == 48
    assert ref.to_b64(ciphertext) == slot["ciphertext"]


def test_python_unwraps_the_browser_wrapped_account_key_with_the_password() -> None:
    slot = vectors()["account_key_by_password"]
    plain = ref.unwrap_account_key(ref.wrap_key(master_key()), slot, ref.aad_account_key_by_password("alice"))
    assert plain == b64(vectors()["account_key"])


@pytest.mark.parametrize(
    "wrong_aad",
    ["securechat/account-key/password/v1|bob", "securechat/account-key/recovery/v1|alice"],
)
def test_the_password_wrapped_account_key_refuses_another_owner_or_slot(wrong_aad: str) -> None:
    slot = vectors()["account_key_by_password"]
    with pytest.raises(InvalidTag):
        ref.unwrap_account_key(ref.wrap_key(master_key()), slot, wrong_aad.encode())


def test_python_formats_and_parses_the_recovery_key_as_the_browser_shows_it() -> None:
    text = vectors()["recovery"]["recovery_key_text"]
    assert ref.format_recovery_key(recovery_key()) == text
    assert ref.parse_recovery_key(text.lower().replace("-", " ")) == recovery_key()


def test_python_derives_the_same_recovery_auth_as_the_browser() -> None:
    assert ref.to_b64(ref.recovery_auth(recovery_key())) == vectors()["recovery"]["recovery_auth"]


def test_python_wraps_and_unwraps_the_account_key_under_the_recovery_key_like_the_browser() -> None:
    slot = vectors()["account_key_by_recovery"]
    key = ref.recovery_wrap_key(recovery_key())
    account_key = b64(vectors()["account_key"])
    assert ref.to_b64(ref.seal(key, b64(slot["iv"]), account_key, slot["aad"].encode())) == slot["ciphertext"]
    assert ref.unwrap_account_key(key, slot, ref.aad_account_key_by_recovery("alice")) == account_key


def test_python_derives_the_same_public_keys_from_the_fixed_seeds() -> None:
    ident = vectors()["identity"]
    signing = Ed25519PrivateKey.from_private_bytes(b64(ident["signing_seed"]))
    agreement = X25519PrivateKey.from_private_bytes(b64(ident["agreement_seed"]))
    assert signing.public_key().public_bytes(*ref.RAW_PUBLIC) == b64(ident["signing_public_key"])
    assert agreement.public_key().public_bytes(*ref.RAW_PUBLIC) == b64(ident["agreement_public_key"])


def test_python_signs_the_agreement_key_exactly_like_the_browser() -> None:
    ident = vectors()["identity"]
    signed = ref.agreement_signed_bytes(b64(ident["agreement_public_key"]))
    assert signed == b64(ident["agreement_signed_bytes"])
    signature = Ed25519PrivateKey.from_private_bytes(b64(ident["signing_seed"])).sign(signed)
    assert ref.to_b64(signature) == ident["agreement_signature"]


def test_the_browser_agreement_signature_verifies_in_python_and_fails_for_another_key() -> None:
    ident = vectors()["identity"]
    public = Ed25519PublicKey.from_public_bytes(b64(ident["signing_public_key"]))
    signature = b64(ident["agreement_signature"])
    public.verify(signature, ref.agreement_signed_bytes(b64(ident["agreement_public_key"])))
    with pytest.raises(InvalidSignature):
        public.verify(signature, ref.agreement_signed_bytes(bytes(32)))


def test_python_computes_the_same_fingerprint_as_the_browser() -> None:
    ident = vectors()["identity"]
    assert ref.fingerprint(b64(ident["signing_public_key"])) == ident["fingerprint"]


def test_python_opens_the_browser_sealed_key_bundle_to_the_fixed_private_keys() -> None:
    v = vectors()
    account_key = b64(v["account_key"])
    assert list(ref.bundle_payload(account_key, v["bundle"], "alice")) == ["v", "signing", "agreement"]
    opened = ref.open_bundle(account_key, v["bundle"], "alice")
    assert opened.signing_seed == b64(v["identity"]["signing_seed"])
    assert opened.agreement_seed == b64(v["identity"]["agreement_seed"])


def test_python_recomputes_every_secret_of_an_account_from_the_password_and_its_own_identity() -> None:
    v = vectors()
    own_identity = {
        "username": "alice",
        "kdf": {"algorithm": "PBKDF2-SHA256", "salt": v["password"]["salt"], "iterations": 1000},
        "account_key_by_password": v["account_key_by_password"],
        "key_bundle": v["bundle"],
    }
    secrets = ref.account_secrets(v["password"]["password"], own_identity)
    assert base64.b64encode(secrets.auth_key).decode() == v["password"]["auth_key"]
    assert secrets.account_key == b64(v["account_key"])
    assert secrets.identity.signing_seed == b64(v["identity"]["signing_seed"])
