"""Reads: identities, the pre-login KDF parameters, and what of an identity each viewer may see."""

from __future__ import annotations

import hashlib
from typing import Any

from django.contrib.auth import HASH_SESSION_KEY
from django.utils.crypto import constant_time_compare

from accounts.keys import fingerprint
from accounts.models import Identity, KeyEvent, TrustStore, User
from accounts.schemas import KDF_ALGORITHM, KDF_MIN_ITERATIONS, KDF_SALT_BYTES, USERNAME_PATTERN, Kdf
from toolkit.validation import Sealed, encode_base64


def identity_by_username(username: str) -> Identity | None:
    """None too for a name no account can have (a NUL in one is an error to Postgres, not a miss)."""
    if not USERNAME_PATTERN.fullmatch(username):
        return None
    return Identity.objects.select_related("user").filter(user__username__iexact=username).first()


def identity_of(user: User) -> Identity | None:
    """The signed-in user's identity; staff made with createsuperuser have none."""
    return Identity.objects.select_related("user").filter(user=user).first()


def identities_by_ids(user_ids: list[int]) -> list[Identity]:
    return list(Identity.objects.select_related("user").filter(user_id__in=user_ids).order_by("user_id"))


def key_history(user_id: int) -> list[dict[str, Any]]:
    """Every signing key the user has had, oldest first (empty: no such user, or one without keys)."""
    events = KeyEvent.objects.filter(user_id=user_id).order_by("key_version")
    return [
        {"key_version": event.key_version, "signing_public_key": encode_base64(event.signing_public_key)}
        for event in events.only("key_version", "signing_public_key")
    ]


# The password KDF's salt is made in the browser from the username (static/js/crypto/kdf.js, usernameSalt).
KDF_SALT_LABEL = b"securechat/kdf-salt/v1|"


def username_salt(username: str) -> bytes:
    """The salt the browser derives a password with: first 16 bytes of SHA-256(label + lower-cased username). Served
    for a name with no account too, so pre-login does not reveal which names exist."""
    return hashlib.sha256(KDF_SALT_LABEL + username.lower().encode()).digest()[:KDF_SALT_BYTES]


def prelogin_kdf(username: str) -> Kdf:
    identity = identity_by_username(username)
    if identity is None:
        return Kdf(salt=username_salt(username), iterations=KDF_MIN_ITERATIONS, algorithm=KDF_ALGORITHM)
    return Kdf(salt=bytes(identity.kdf_salt), iterations=identity.kdf_iterations, algorithm=identity.kdf_algorithm)


def kdf_json(kdf: Kdf) -> dict[str, Any]:
    return {"algorithm": kdf.algorithm, "salt": encode_base64(kdf.salt), "iterations": kdf.iterations}


def public_identity_json(identity: Identity) -> dict[str, Any]:
    """What any signed-in user may know of another: public keys only."""
    return {
        "id": identity.user_id,
        "username": identity.user.username,
        "signing_public_key": encode_base64(identity.signing_public_key),
        "agreement_public_key": encode_base64(identity.agreement_public_key),
        "agreement_signature": encode_base64(identity.agreement_signature),
        "key_version": identity.key_version,
        "fingerprint": fingerprint(identity.signing_public_key),
    }


def own_identity_json(identity: Identity) -> dict[str, Any]:
    """The owner's view adds the wrapped private material, useless without the password."""
    return {
        **public_identity_json(identity),
        "kdf": kdf_json(Kdf(salt=bytes(identity.kdf_salt), iterations=identity.kdf_iterations)),
        "key_bundle": Sealed(bytes(identity.key_bundle_iv), bytes(identity.key_bundle_ciphertext)).as_json(),
        "account_key_by_password": Sealed(
            bytes(identity.account_key_password_iv), bytes(identity.account_key_password_ciphertext)
        ).as_json(),
    }


def account_key_by_recovery(identity: Identity) -> Sealed:
    return Sealed(bytes(identity.account_key_recovery_iv), bytes(identity.account_key_recovery_ciphertext))


def trust_store_of(user: User) -> TrustStore | None:
    return TrustStore.objects.filter(user=user).first()


def trust_store_json(store: TrustStore | None) -> dict[str, Any]:
    if store is None or not store.version:
        return {"version": 0, "sealed": None}
    return {"version": store.version, "sealed": Sealed(bytes(store.iv), bytes(store.ciphertext)).as_json()}


def session_is_current(user: User, session: Any) -> bool:
    """Whether ``session`` is still stored (not logged out), was made under the user's current password (a key reset
    or password change since ends it) and the account is still active (Django checks this on every request; a
    socket, which reads the session once, asks here)."""
    stored = session.get(HASH_SESSION_KEY) if session is not None else None
    if not stored or not session.exists(session.session_key):
        return False
    fresh = User.objects.filter(pk=user.pk).first()
    return fresh is not None and fresh.is_active and constant_time_compare(stored, fresh.get_session_auth_hash())
