"""The browser's key derivations (static/js/crypto/) re-done with the `cryptography` package.

A second, independent implementation: tests/vectors/accounts-v1.json pins it to the browser's, and
the browser tests use it to compute, from a password or a recovery key, the secrets the server must
never see, then look for them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import unicodedata
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

# Mirror static/js/crypto/labels.js.
INFO_AUTH = "securechat/auth/v1"
INFO_WRAP = "securechat/wrap/v1"
INFO_RECOVERY_AUTH = "securechat/recovery-auth/v1"
INFO_RECOVERY_WRAP = "securechat/recovery-wrap/v1"
LABEL_AGREEMENT_KEY = b"securechat/agreement-key/v1|"
LABEL_FINGERPRINT = b"securechat/fingerprint/v1|"
PBKDF2_ITERATIONS = 600_000

RAW_PRIVATE = (serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
RAW_PUBLIC = (serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def b64(text: str) -> bytes:
    """Strict standard base64, as the browser and the server write it."""
    return base64.b64decode(text, validate=True)


def to_b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hkdf(ikm: bytes, info: str) -> bytes:
    # Empty salt, as in the browser (RFC 5869 treats it like HashLen zero bytes).
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"", info=info.encode()).derive(ikm)


def aad_account_key_by_password(username: str) -> bytes:
    return f"securechat/account-key/password/v1|{username.lower()}".encode()


def aad_account_key_by_recovery(username: str) -> bytes:
    return f"securechat/account-key/recovery/v1|{username.lower()}".encode()


def aad_bundle(username: str) -> bytes:
    return f"securechat/bundle/v1|{username.lower()}".encode()


# --- password ----------------------------------------------------------------------------------


def master_key(password: str, salt: bytes, iterations: int = PBKDF2_ITERATIONS) -> bytes:
    """PBKDF2-HMAC-SHA256 over the NFC-normalised UTF-8 password (the browser does the same)."""
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt, iterations=iterations)
    return kdf.derive(unicodedata.normalize("NFC", password).encode("utf-8"))


def auth_key(master: bytes) -> bytes:
    return hkdf(master, INFO_AUTH)


def wrap_key(master: bytes) -> bytes:
    return hkdf(master, INFO_WRAP)


# --- recovery key ------------------------------------------------------------------------------


def recovery_auth(recovery: bytes) -> bytes:
    return hkdf(recovery, INFO_RECOVERY_AUTH)


def recovery_wrap_key(recovery: bytes) -> bytes:
    return hkdf(recovery, INFO_RECOVERY_WRAP)


def format_recovery_key(recovery: bytes) -> str:
    text = base64.b32encode(recovery).decode().rstrip("=")
    return "-".join(text[i : i + 4] for i in range(0, len(text), 4))


def parse_recovery_key(text: str) -> bytes:
    clean = "".join(ch for ch in text if ch not in " -\t\n").upper()
    return base64.b32decode(clean + "=" * (-len(clean) % 8))


# --- AES-GCM blobs -----------------------------------------------------------------------------


def seal(key: bytes, iv: bytes, plaintext: bytes, aad: bytes) -> bytes:
    return AESGCM(key).encrypt(iv, plaintext, aad)


def open_sealed(key: bytes, sealed: dict[str, str], aad: bytes) -> bytes:
    """Opens a ``{"iv", "ciphertext"}`` blob as the API returns it; InvalidTag if it does not authenticate."""
    return AESGCM(key).decrypt(b64(sealed["iv"]), b64(sealed["ciphertext"]), aad)


def unwrap_account_key(wrapping_key: bytes, sealed: dict[str, str], aad: bytes) -> bytes:
    return open_sealed(wrapping_key, sealed, aad)


# --- identity ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PrivateIdentity:
    """What the key bundle holds: both private keys as PKCS#8 DER and as raw 32-byte seeds."""

    signing_pkcs8: bytes
    agreement_pkcs8: bytes
    signing_seed: bytes
    agreement_seed: bytes

    @property
    def signing_key(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self.signing_seed)

    @property
    def agreement_key(self) -> X25519PrivateKey:
        return X25519PrivateKey.from_private_bytes(self.agreement_seed)


def bundle_payload(account_key: bytes, sealed: dict[str, str], username: str) -> dict[str, Any]:
    return json.loads(open_sealed(account_key, sealed, aad_bundle(username)))


def open_bundle(account_key: bytes, sealed: dict[str, str], username: str) -> PrivateIdentity:
    payload = bundle_payload(account_key, sealed, username)
    if payload.get("v") != 1:
        raise ValueError(f"unsupported key bundle version {payload.get('v')!r}")
    signing_der = b64(payload["signing"])
    agreement_der = b64(payload["agreement"])
    signing = serialization.load_der_private_key(signing_der, password=None)
    agreement = serialization.load_der_private_key(agreement_der, password=None)
    if not isinstance(signing, Ed25519PrivateKey) or not isinstance(agreement, X25519PrivateKey):
        raise ValueError("the key bundle does not hold an Ed25519 and an X25519 private key")
    return PrivateIdentity(
        signing_pkcs8=signing_der,
        agreement_pkcs8=agreement_der,
        signing_seed=signing.private_bytes(*RAW_PRIVATE),
        agreement_seed=agreement.private_bytes(*RAW_PRIVATE),
    )


def agreement_signed_bytes(agreement_public_key: bytes) -> bytes:
    return LABEL_AGREEMENT_KEY + agreement_public_key


def fingerprint(signing_public_key: bytes) -> str:
    digest = hashlib.sha256(LABEL_FINGERPRINT + signing_public_key).hexdigest()[:32]
    return " ".join(digest[i : i + 4] for i in range(0, 32, 4))


# --- a whole account, from what the owner knows -----------------------------------------------


@dataclass(frozen=True)
class AccountSecrets:
    """Every secret of one account, recomputed from the password and the server's OwnIdentity."""

    master_key: bytes
    auth_key: bytes
    wrap_key: bytes
    account_key: bytes
    identity: PrivateIdentity


def account_secrets(password: str, own_identity: dict[str, Any]) -> AccountSecrets:
    """From the password and ``GET /api/accounts/me``'s ``user``: derive, unwrap and open, as the browser does."""
    username = own_identity["username"]
    kdf = own_identity["kdf"]
    master = master_key(password, b64(kdf["salt"]), kdf["iterations"])
    wrapping = wrap_key(master)
    account_key = unwrap_account_key(
        wrapping, own_identity["account_key_by_password"], aad_account_key_by_password(username)
    )
    return AccountSecrets(
        master_key=master,
        auth_key=auth_key(master),
        wrap_key=wrapping,
        account_key=account_key,
        identity=open_bundle(account_key, own_identity["key_bundle"], username),
    )
