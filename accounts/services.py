"""Writes: sign-up, log-in, password change, recovery, and the audit events they leave."""

from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass

from django.contrib.auth import authenticate
from django.db import IntegrityError, transaction

from accounts import limits
from accounts.audit import ClientInfo, record_event
from accounts.models import AuditEvent, Identity, KeyEvent, TrustStore, User, UsernameKey
from accounts.schemas import KeyReset, NewAccount, NewIdentity, NewPassword, TrustStoreWrite
from accounts.selectors import account_key_by_recovery, identity_by_username
from accounts.signals import keys_changed
from accounts.usernames import lookalike_keys
from toolkit import hashing, throttle
from toolkit.errors import ApiError, ErrorCode
from toolkit.validation import Sealed, encode_base64

WRONG_LOGIN = "Wrong username or password."
WRONG_RECOVERY = "Wrong username or recovery key."
NAME_TAKEN = "That username is taken."
NAME_LOOKS_TAKEN = "That username reads like one that is taken: choose another."


def _secret(value: bytes) -> str:
    """The text Django's hashers store for a browser-derived key."""
    return encode_base64(value)


@dataclass(frozen=True)
class _Hashed:
    """The stored forms of a new identity's two secrets. Hashed (in the hashing pool) before any transaction: a row
    lock held while a hash waits for the pool would hold up everyone who needs that row."""

    password: str
    recovery_auth: str


def _hashed(new: NewIdentity) -> _Hashed:
    return _Hashed(hashing.make(_secret(new.auth_key)), hashing.make(_secret(new.recovery_auth)))


def _apply_identity(identity: Identity, new: NewIdentity, hashed: _Hashed) -> None:
    """Copy a fresh identity's keys and sealed blobs onto the row (not saved)."""
    identity.signing_public_key = new.signing_public_key
    identity.agreement_public_key = new.agreement_public_key
    identity.agreement_signature = new.agreement_signature
    identity.kdf_algorithm = new.kdf.algorithm
    identity.kdf_salt = new.kdf.salt
    identity.kdf_iterations = new.kdf.iterations
    identity.key_bundle_iv = new.key_bundle.iv
    identity.key_bundle_ciphertext = new.key_bundle.ciphertext
    identity.account_key_password_iv = new.account_key_by_password.iv
    identity.account_key_password_ciphertext = new.account_key_by_password.ciphertext
    identity.account_key_recovery_iv = new.account_key_by_recovery.iv
    identity.account_key_recovery_ciphertext = new.account_key_by_recovery.ciphertext
    identity.recovery_auth_hash = hashed.recovery_auth


def _record_key_version(identity: Identity, kind: KeyEvent.Kind) -> None:
    KeyEvent.objects.create(
        user=identity.user,
        kind=kind,
        key_version=identity.key_version,
        signing_public_key=identity.signing_public_key,
        agreement_public_key=identity.agreement_public_key,
    )


def register(*, account: NewAccount, client: ClientInfo) -> User:
    """Create the user and their identity at once; a taken name changes nothing."""
    if User.objects.filter(username__iexact=account.username).exists():
        raise ApiError(ErrorCode.USERNAME_TAKEN, NAME_TAKEN, field="username")
    if UsernameKey.objects.filter(key__in=lookalike_keys(account.username)).exists():
        raise ApiError(ErrorCode.USERNAME_TAKEN, NAME_LOOKS_TAKEN, field="username")
    hashed = _hashed(account.identity)
    try:
        with transaction.atomic():
            user = User(username=account.username, password=hashed.password)
            user.save()
            identity = Identity(user=user)
            _apply_identity(identity, account.identity, hashed)
            identity.save()
            _record_key_version(identity, KeyEvent.Kind.CREATED)
            record_event(AuditEvent.Action.SIGNUP, client=client, user=user)
    except IntegrityError:  # the same name, or one that reads like it, registered concurrently
        raise ApiError(ErrorCode.USERNAME_TAKEN, NAME_TAKEN, field="username") from None
    throttle.remember(user.username, limits.address_of(client))  # her own address, if strangers ever guess at her
    return user


def reset_identity(*, user: User, reset: KeyReset, client: ClientInfo) -> Identity:
    """Replace every key of a user who proves they hold the password or the recovery key (a stolen session alone
    cannot), keeping their pins (sealed again in the browser under the new account key).

    Old messages become unreadable to them; everyone sharing a room is told the keys changed, and their browsers
    warn until they accept the new ones. Every other session ends (the password changes with the keys) and every
    socket of the user is closed, saying why.
    """
    _check_reset_proof(user=user, reset=reset, client=client)
    hashed = _hashed(reset.identity)
    with transaction.atomic():
        identity = Identity.objects.select_for_update().select_related("user").get(user=user)
        old_version = identity.key_version
        _apply_identity(identity, reset.identity, hashed)
        identity.key_version = old_version + 1
        identity.save()
        user.password = hashed.password
        user.save(update_fields=["password"])
        _replace_trust_store(_locked_trust_store(user), reset.trust_store)
        _record_key_version(identity, KeyEvent.Kind.RESET)
        record_event(
            AuditEvent.Action.KEY_RESET,
            client=client,
            user=user,
            detail={"from_version": old_version, "to_version": identity.key_version},
        )
        keys_changed.send(sender=Identity, user=user)
    return identity


def _check_reset_proof(*, user: User, reset: KeyReset, client: ClientInfo) -> None:
    """Every proof given must hold; attempts count in the password and recovery-key guards, as log-ins and recoveries
    do."""
    if reset.current_recovery_auth is not None:
        _check_recovery(username=user.username, recovery_auth=reset.current_recovery_auth, client=client)
    if reset.current_auth_key is not None:
        _check_current_password(user, reset.current_auth_key, client=client, failed=AuditEvent.Action.KEY_RESET_FAILED)


def _check_current_password(
    user: User, auth_key: bytes, *, client: ClientInfo, failed: AuditEvent.Action | None = None
) -> None:
    """The signed-in user proves the password again; the attempt counts in the password guard, as a log-in does (and a
    failure is audited as ``failed``, if given)."""
    address = limits.address_of(client)
    throttle.attempt(limits.PASSWORD, user.username, address)
    if not user.check_password(_secret(auth_key)):
        if failed is not None:
            record_event(failed, client=client, user=user)
        raise ApiError(ErrorCode.INVALID_CREDENTIALS, "Your current password is wrong.", field="current_auth_key")
    throttle.succeeded(limits.PASSWORD, user.username, address)


def save_trust_store(*, user: User, write: TrustStoreWrite) -> TrustStore:
    """Replace the sealed pins if nobody else changed them since the version the browser read.

    A write sealed for an older key version (a tab left open across a key reset) is refused too.
    """
    with transaction.atomic():
        current_keys = Identity.objects.filter(user=user).values_list("key_version", flat=True).first()
        if write.key_version is not None and write.key_version != current_keys:
            raise ApiError(ErrorCode.CONFLICT, "Your keys were reset since this page loaded; reload it.")
        store = _locked_trust_store(user)
        if store.version != write.version:
            raise ApiError(
                ErrorCode.CONFLICT,
                "Your trusted keys changed in another tab; they were merged, try again.",
                version=store.version,
            )
        _replace_trust_store(store, write.sealed)
    return store


def _locked_trust_store(user: User) -> TrustStore:
    store, _ = TrustStore.objects.select_for_update().get_or_create(user=user, defaults={"iv": b"", "ciphertext": b""})
    return store


def _replace_trust_store(store: TrustStore, sealed: Sealed) -> None:
    store.iv, store.ciphertext, store.version = sealed.iv, sealed.ciphertext, store.version + 1
    store.save()


def log_in(*, username: str, auth_key: bytes, client: ClientInfo) -> User:
    """Check the auth key; the attempt counts in the password guard (accounts/limits.py), shared by every worker."""
    address = limits.address_of(client)
    throttle.attempt(limits.PASSWORD, username, address)
    user = authenticate(username=username, password=_secret(auth_key))
    if user is None or not Identity.objects.filter(user=user).exists():
        known = User.objects.filter(username__iexact=username).first()
        record_event(AuditEvent.Action.LOGIN_FAILED, client=client, user=known, username=username)
        raise ApiError(ErrorCode.INVALID_CREDENTIALS, WRONG_LOGIN)
    throttle.succeeded(limits.PASSWORD, username, address)
    record_event(AuditEvent.Action.LOGIN_OK, client=client, user=user)
    return user


def log_out(*, user: User, client: ClientInfo) -> None:
    record_event(AuditEvent.Action.LOGOUT, client=client, user=user)


def _replace_password(identity: Identity, new: NewPassword, password_hash: str) -> None:
    """Re-wrap only the account key: identity keys and everything sealed under them stay as they are."""
    identity.kdf_algorithm = new.kdf.algorithm
    identity.kdf_salt = new.kdf.salt
    identity.kdf_iterations = new.kdf.iterations
    identity.account_key_password_iv = new.account_key_by_password.iv
    identity.account_key_password_ciphertext = new.account_key_by_password.ciphertext
    identity.save()
    identity.user.password = password_hash
    identity.user.save(update_fields=["password"])


def change_password(*, user: User, current_auth_key: bytes, new: NewPassword, client: ClientInfo) -> Identity:
    _check_current_password(user, current_auth_key, client=client)
    password_hash = hashing.make(_secret(new.auth_key))
    with transaction.atomic():
        identity = Identity.objects.select_for_update().select_related("user").get(user=user)
        _replace_password(identity, new, password_hash)
        record_event(AuditEvent.Action.PASSWORD_CHANGE, client=client, user=user)
    return identity


@functools.cache
def _decoy_hash() -> str:
    return hashing.make(secrets.token_urlsafe(32))


def _check_recovery(*, username: str, recovery_auth: bytes, client: ClientInfo) -> Identity:
    """The attempt counts in the recovery-key guard (accounts/limits.py)."""
    address = limits.address_of(client)
    throttle.attempt(limits.RECOVERY_KEY, username, address)
    identity = identity_by_username(username)
    # Hash even for an unknown name, so both answers take as long.
    stored = identity.recovery_auth_hash if identity else _decoy_hash()
    if not hashing.verify(_secret(recovery_auth), stored).ok or identity is None:
        record_event(
            AuditEvent.Action.RECOVERY_FAILED,
            client=client,
            user=identity.user if identity else None,
            username=username,
        )
        raise ApiError(ErrorCode.INVALID_CREDENTIALS, WRONG_RECOVERY)
    throttle.succeeded(limits.RECOVERY_KEY, username, address)
    return identity


def begin_recovery(*, username: str, recovery_auth: bytes, client: ClientInfo) -> tuple[Identity, Sealed]:
    """Hand the recovery-wrapped account key to whoever proves they hold the recovery key."""
    identity = _check_recovery(username=username, recovery_auth=recovery_auth, client=client)
    return identity, account_key_by_recovery(identity)


def finish_recovery(*, username: str, recovery_auth: bytes, new: NewPassword, client: ClientInfo) -> Identity:
    checked = _check_recovery(username=username, recovery_auth=recovery_auth, client=client)
    password_hash = hashing.make(_secret(new.auth_key))
    with transaction.atomic():
        identity = Identity.objects.select_for_update().select_related("user").get(pk=checked.pk)
        _replace_password(identity, new, password_hash)
        record_event(AuditEvent.Action.RECOVERY, client=client, user=identity.user)
    throttle.forget_failures(limits.PASSWORD, username, limits.address_of(client))
    return identity
