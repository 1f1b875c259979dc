"""Request bodies a well-behaved browser would send, made with real keys where the server checks them."""

from __future__ import annotations

import base64
import hashlib
import os
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from django.test import Client

from accounts.keys import AGREEMENT_KEY_LABEL
from toolkit.validation import Fields

RAW = serialization.Encoding.Raw, serialization.PublicFormat.Raw


def b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def sealed(plaintext_length: int) -> dict[str, str]:
    """Random bytes of AES-GCM's shape: the server cannot tell them from a real blob."""
    return {"iv": b64(os.urandom(12)), "ciphertext": b64(os.urandom(plaintext_length + 16))}


def kdf(iterations: int = 600_000) -> dict[str, Any]:
    return {"algorithm": "PBKDF2-SHA256", "salt": b64(os.urandom(16)), "iterations": iterations}


def identity_keys(username: str, key_version: int = 1) -> tuple[Ed25519PrivateKey, X25519PrivateKey]:
    """A test user's signing and agreement private keys: fixed by the name and key version, so a test can sign
    as anyone it made (a key reset to the next version gives other keys)."""
    seed = hashlib.sha256(f"securechat tests|{username.lower()}|{key_version}".encode()).digest()
    return (
        Ed25519PrivateKey.from_private_bytes(hashlib.sha256(seed + b"|signing").digest()),
        X25519PrivateKey.from_private_bytes(hashlib.sha256(seed + b"|agreement").digest()),
    )


def signup_body(
    username: str = "alice", *, key_version: int = 1, with_auth_key: bytes | None = None, **overrides: Any
) -> dict[str, Any]:
    """A sign-up (or, without the username, a key reset to ``key_version``) with ``identity_keys``' public keys."""
    signing, agreement = identity_keys(username, key_version)
    agreement_public = agreement.public_key().public_bytes(*RAW)
    body = {
        "username": username,
        "kdf": kdf(),
        "auth_key": b64(with_auth_key or os.urandom(32)),
        "signing_public_key": b64(signing.public_key().public_bytes(*RAW)),
        "agreement_public_key": b64(agreement_public),
        "agreement_signature": b64(signing.sign(AGREEMENT_KEY_LABEL + agreement_public)),
        "key_bundle": sealed(150),
        "account_key_by_password": sealed(32),
        "account_key_by_recovery": sealed(32),
        "recovery_auth": b64(os.urandom(32)),
    }
    return {**body, **overrides}


def new_password_body(auth_key: bytes, **extra: Any) -> dict[str, Any]:
    return {"kdf": kdf(), "auth_key": b64(auth_key), "account_key_by_password": sealed(32), **extra}


def api_client(address: str = "127.0.0.1") -> Client:
    """A client that, like the browser, must send the CSRF token; its requests come from ``address``."""
    client = Client(enforce_csrf_checks=True, REMOTE_ADDR=address)
    client.get("/")
    return client


def post(client: Client, url: str, body: Any) -> Any:
    token = client.cookies["csrftoken"].value
    return client.post(url, body, content_type="application/json", headers={"X-CSRFToken": token})


def reset_body(username: str, current_auth_key: bytes, *, key_version: int = 2, **overrides: Any) -> dict[str, Any]:
    """A key reset to ``identity_keys(username, key_version)``, proven with the current password's auth key."""
    body = signup_body(username, key_version=key_version)
    del body["username"]
    return {**body, "current_auth_key": b64(current_auth_key), "trust_store": sealed(200), **overrides}


def reset_keys(user: Any, key_version: int = 2) -> Any:
    """The user resets their keys to ``identity_keys(user.username, key_version)`` (proving it as the browser
    would: the auth key of their password, set here since tests do not know the one made at sign-up)."""
    from accounts.audit import ClientInfo
    from accounts.schemas import key_reset
    from accounts.services import _secret, reset_identity

    auth_key = os.urandom(32)
    user.set_password(_secret(auth_key))
    user.save(update_fields=["password"])
    body = reset_body(user.username, auth_key, key_version=key_version)
    return reset_identity(user=user, reset=key_reset(Fields(body)), client=ClientInfo(ip_address="127.0.0.1"))
