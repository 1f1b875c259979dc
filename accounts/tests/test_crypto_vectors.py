"""Two implementations agree: Python's `cryptography` reproduces every browser-made vector.

The vectors in tests/vectors/accounts-v1.json were produced once by the browser modules in
static/js/crypto (see tests/vectors/make_accounts_vectors.mjs). No Django, no database.
"""

from __future__ import annotations

import base64
import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

VECTORS_PATH = Path(__file__).resolve().parents[2] / "tests/vectors/accounts-v1.json"


@cache
def vectors() -> dict[str, Any]:
    return json.loads(VECTORS_PATH.read_text(encoding="utf-8"))


def b64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def hkdf(ikm: bytes, info: str) -> bytes:
    # Empty salt, as in the browser (RFC 5869 treats it like HashLen zero bytes).
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"", info=info.encode()).derive(ikm)


def master_key() -> bytes:
    p = vectors()["password"]
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=b64(p["salt"]), iterations=p["iterations"])
    return kdf.derive(p["password"].encode("utf-8"))


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
    assert v["password"]["auth_info"] == "securechat/auth/v1"
    assert v["password"]["wrap_info"] == "securechat/wrap/v1"
    assert v["recovery"]["auth_info"] == "securechat/recovery-auth/v1"
    assert v["recovery"]["wrap_info"] == "securechat/recovery-wrap/v1"
    assert v["account_key_by_password"]["aad"] == "securechat/account-key/password/v1|alice"
    assert v["account_key_by_recovery"]["aad"] == "securechat/account-key/recovery/v1|alice"
    assert v["bundle"]["aad"] == "securechat/bundle/v1|alice"


def test_python_derives_the_same_auth_key_as_the_browser() -> None:
    auth_key = hkdf(master_key(), "securechat/auth/v1")
    assert base64.b64encode(auth_key).decode() == vectors()["password"]["auth_key"]


def test_python_wraps_the_account_key_under_the_password_exactly_like_the_browser() -> None:
    slot = vectors()["account_key_by_password"]
    wrap_key = hkdf(master_key(), "securechat/wrap/v1")
    ciphertext = AESGCM(wrap_key).encrypt(b64(slot["iv"]), b64(vectors()["account_key"]), slot["aad"].encode())
    assert len(ciphertext) == 48
    assert base64.b64encode(ciphertext).decode() == slot["ciphertext"]


def test_python_unwraps_the_browser_wrapped_account_key_with_the_password() -> None:
    slot = vectors()["account_key_by_password"]
    wrap_key = hkdf(master_key(), "securechat/wrap/v1")
    plain = AESGCM(wrap_key).decrypt(b64(slot["iv"]), b64(slot["ciphertext"]), slot["aad"].encode())
    assert plain == b64(vectors()["account_key"])


@pytest.mark.parametrize(
    "wrong_aad",
    ["securechat/account-key/password/v1|bob", "securechat/account-key/recovery/v1|alice"],
)
def test_the_password_wrapped_account_key_refuses_another_owner_or_slot(wrong_aad: str) -> None:
    slot = vectors()["account_key_by_password"]
    wrap_key = hkdf(master_key(), "securechat/wrap/v1")
    with pytest.raises(InvalidTag):
        AESGCM(wrap_key).decrypt(b64(slot["iv"]), b64(slot["ciphertext"]), wrong_aad.encode())


def test_python_formats_the_recovery_key_as_the_browser_shows_it() -> None:
    text = base64.b32encode(recovery_key()).decode().rstrip("=")
    grouped = "-".join(text[i : i + 4] for i in range(0, len(text), 4))
    assert grouped == vectors()["recovery"]["recovery_key_text"]


def test_python_derives_the_same_recovery_auth_as_the_browser() -> None:
    recovery_auth = hkdf(recovery_key(), "securechat/recovery-auth/v1")
    assert base64.b64encode(recovery_auth).decode() == vectors()["recovery"]["recovery_auth"]


def test_python_wraps_and_unwraps_the_account_key_under_the_recovery_key_like_the_browser() -> None:
    slot = vectors()["account_key_by_recovery"]
    aesgcm = AESGCM(hkdf(recovery_key(), "securechat/recovery-wrap/v1"))
    account_key = b64(vectors()["account_key"])
    ciphertext = aesgcm.encrypt(b64(slot["iv"]), account_key, slot["aad"].encode())
    assert base64.b64encode(ciphertext).decode() == slot["ciphertext"]
    assert aesgcm.decrypt(b64(slot["iv"]), b64(slot["ciphertext"]), slot["aad"].encode()) == account_key


def test_python_derives_the_same_public_keys_from_the_fixed_seeds() -> None:
    ident = vectors()["identity"]
    signing = Ed25519PrivateKey.from_private_bytes(b64(ident["signing_seed"]))
    agreement = X25519PrivateKey.from_private_bytes(b64(ident["agreement_seed"]))
    raw = serialization.Encoding.Raw, serialization.PublicFormat.Raw
    assert signing.public_key().public_bytes(*raw) == b64(ident["signing_public_key"])
    assert agreement.public_key().public_bytes(*raw) == b64(ident["agreement_public_key"])


def test_python_signs_the_agreement_key_exactly_like_the_browser() -> None:
    ident = vectors()["identity"]
    signed = b"securechat/agreement-key/v1|" + b64(ident["agreement_public_key"])
    assert signed == b64(ident["agreement_signed_bytes"])
    signature = Ed25519PrivateKey.from_private_bytes(b64(ident["signing_seed"])).sign(signed)
    assert base64.b64encode(signature).decode() == ident["agreement_signature"]


def test_the_browser_agreement_signature_verifies_in_python_and_fails_for_another_key() -> None:
    ident = vectors()["identity"]
    public = Ed25519PublicKey.from_public_bytes(b64(ident["signing_public_key"]))
    signature = b64(ident["agreement_signature"])
    public.verify(signature, b"securechat/agreement-key/v1|" + b64(ident["agreement_public_key"]))
    with pytest.raises(InvalidSignature):
        public.verify(signature, b"securechat/agreement-key/v1|" + bytes(32))


def test_python_computes_the_same_fingerprint_as_the_browser() -> None:
    ident = vectors()["identity"]
    digest = hashlib.sha256(b"securechat/fingerprint/v1|" + b64(ident["signing_public_key"])).hexdigest()[:32]
    assert " ".join(digest[i : i + 4] for i in range(0, 32, 4)) == ident["fingerprint"]


def test_python_opens_the_browser_sealed_key_bundle_to_the_fixed_private_keys() -> None:
    v = vectors()
    bundle = v["bundle"]
    plain = AESGCM(b64(v["account_key"])).decrypt(b64(bundle["iv"]), b64(bundle["ciphertext"]), bundle["aad"].encode())
    payload = json.loads(plain)
    assert list(payload) == ["v", "signing", "agreement"]
    assert payload["v"] == 1
    signing = serialization.load_der_private_key(b64(payload["signing"]), password=None)
    agreement = serialization.load_der_private_key(b64(payload["agreement"]), password=None)
    assert isinstance(signing, Ed25519PrivateKey)
    assert isinstance(agreement, X25519PrivateKey)
    raw_private = serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    assert signing.private_bytes(*raw_private) == b64(v["identity"]["signing_seed"])
    assert agreement.private_bytes(*raw_private) == b64(v["identity"]["agreement_seed"])
