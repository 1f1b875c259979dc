"""The accounts API's request bodies, parsed and checked at the edge into typed values."""

from __future__ import annotations

import re
from dataclasses import dataclass

from accounts.keys import agreement_key_is_signed
from toolkit.errors import ApiError, ErrorCode
from toolkit.validation import Fields, Sealed

USERNAME_PATTERN = re.compile(r"[A-Za-z0-9_.-]{3,32}")
KDF_ALGORITHM = "PBKDF2-SHA256"
KDF_MIN_ITERATIONS = 600_000
KDF_MAX_ITERATIONS = 10_000_000
KDF_SALT_BYTES = 16
KEY_BYTES = 32  # auth key, recovery auth value, Ed25519 and X25519 public keys, account key
SIGNATURE_BYTES = 64
MAX_BUNDLE_BYTES = 4096


@dataclass(frozen=True)
class Kdf:
    salt: bytes
    iterations: int
    algorithm: str = KDF_ALGORITHM


@dataclass(frozen=True)
class NewIdentity:
    """Everything a fresh identity brings: password material, public keys, sealed private keys."""

    kdf: Kdf
    auth_key: bytes
    signing_public_key: bytes
    agreement_public_key: bytes
    agreement_signature: bytes
    key_bundle: Sealed
    account_key_by_password: Sealed
    account_key_by_recovery: Sealed
    recovery_auth: bytes


@dataclass(frozen=True)
class NewPassword:
    """What replaces the password: a new salt, the new auth key and the account key re-wrapped."""

    kdf: Kdf
    auth_key: bytes
    account_key_by_password: Sealed


def username(fields: Fields) -> str:
    value = fields.string("username", max_length=64)
    if not USERNAME_PATTERN.fullmatch(value):
        raise ApiError(
            ErrorCode.INVALID_USERNAME,
            "Usernames are 3 to 32 characters: letters, digits, '_', '.' and '-'.",
            field="username",
        )
    return value


def any_username(fields: Fields) -> str:
    """A username as typed at log-in, recovery or pre-login: one that could be a username, or ``invalid_username``.

    Checked before any lookup: the database folds case more widely than the throttles' keys do (Postgres upper-cases
    a dotless i, U+0131, to ``I``), so a name outside the pattern could reach an account under counts of its own."""
    return username(fields)


def kdf(fields: Fields) -> Kdf:
    params = fields.object("kdf")
    algorithm = params.string("algorithm", max_length=32)
    if algorithm != KDF_ALGORITHM:
        raise ApiError(ErrorCode.UNSUPPORTED_ALGORITHM, f"Only {KDF_ALGORITHM} is supported.", field="kdf.algorithm")
    return Kdf(
        salt=params.bytes("salt", length=KDF_SALT_BYTES),
        iterations=params.integer("iterations", minimum=KDF_MIN_ITERATIONS, maximum=KDF_MAX_ITERATIONS),
    )


def auth_key(fields: Fields, name: str = "auth_key") -> bytes:
    return fields.bytes(name, length=KEY_BYTES)


def wrapped_account_key(fields: Fields, name: str) -> Sealed:
    return fields.sealed(name, plaintext_length=KEY_BYTES)


def new_password(fields: Fields) -> NewPassword:
    return NewPassword(
        kdf=kdf(fields),
        auth_key=auth_key(fields),
        account_key_by_password=wrapped_account_key(fields, "account_key_by_password"),
    )


@dataclass(frozen=True)
class NewAccount:
    username: str
    identity: NewIdentity


MAX_TRUST_STORE_BYTES = 256 * 1024


def new_account(fields: Fields) -> NewAccount:
    return NewAccount(username=username(fields), identity=new_identity(fields))


@dataclass(frozen=True)
class TrustStoreWrite:
    version: int  # the store version the browser last read
    sealed: Sealed
    key_version: int | None  # the owner's key version the blob is sealed for


def trust_store(fields: Fields) -> TrustStoreWrite:
    key_version = None if fields.get("key_version") is None else fields.integer("key_version", minimum=1, maximum=2**31)
    return TrustStoreWrite(
        version=fields.integer("version", minimum=0, maximum=2**31 - 1),
        sealed=fields.sealed("sealed", max_plaintext=MAX_TRUST_STORE_BYTES),
        key_version=key_version,
    )


@dataclass(frozen=True)
class KeyReset:
    """A key reset: the new identity, proof that whoever asks holds the password or the recovery key (a stolen
    session alone must not be enough), and the owner's pins sealed again under the new account key."""

    identity: NewIdentity
    current_auth_key: bytes | None
    current_recovery_auth: bytes | None
    trust_store: Sealed


def key_reset(fields: Fields) -> KeyReset:
    current_auth_key = None if fields.get("current_auth_key") is None else auth_key(fields, "current_auth_key")
    current_recovery_auth = (
        None if fields.get("current_recovery_auth") is None else fields.bytes("current_recovery_auth", length=KEY_BYTES)
    )
    if current_auth_key is None and current_recovery_auth is None:
        raise ApiError(
            ErrorCode.MISSING_FIELD,
            "A key reset needs your current password or your recovery key.",
            field="current_auth_key",
        )
    return KeyReset(
        identity=new_identity(fields),
        current_auth_key=current_auth_key,
        current_recovery_auth=current_recovery_auth,
        trust_store=fields.sealed("trust_store", max_plaintext=MAX_TRUST_STORE_BYTES),
    )


def new_identity(fields: Fields) -> NewIdentity:
    identity = NewIdentity(
        kdf=kdf(fields),
        auth_key=auth_key(fields),
        signing_public_key=fields.bytes("signing_public_key", length=KEY_BYTES),
        agreement_public_key=fields.bytes("agreement_public_key", length=KEY_BYTES),
        agreement_signature=fields.bytes("agreement_signature", length=SIGNATURE_BYTES),
        key_bundle=fields.sealed("key_bundle", max_plaintext=MAX_BUNDLE_BYTES),
        account_key_by_password=wrapped_account_key(fields, "account_key_by_password"),
        account_key_by_recovery=wrapped_account_key(fields, "account_key_by_recovery"),
        recovery_auth=fields.bytes("recovery_auth", length=KEY_BYTES),
    )
    if not agreement_key_is_signed(
        signing_public_key=identity.signing_public_key,
        agreement_public_key=identity.agreement_public_key,
        signature=identity.agreement_signature,
    ):
        raise ApiError(
            ErrorCode.BAD_SIGNATURE,
            "The agreement key is not signed by the signing key.",
            field="agreement_signature",
        )
    return identity
