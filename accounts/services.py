"""Writes: sign-up, log-in, password change, recovery, and the audit events they leave."""

from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import authenticate
from django.contrib.auth.hashers import check_password, make_password
from django.db import IntegrityError, transaction

from accounts.models import AuditEvent, Identity, KeyEvent, User
from accounts.schemas import NewAccount, NewPassword
from accounts.selectors import account_key_by_recovery, identity_by_username
from securechat import throttle
from securechat.errors import ApiError, ErrorCode
from securechat.validation import Sealed, encode_base64

WRONG_LOGIN = "Wrong username or password."
WRONG_RECOVERY = "Wrong username or recovery key."


@dataclass(frozen=True)
class ClientInfo:
    """Where a request came from, for the audit log and the throttles."""

    ip_address: str | None
    user_agent: str = ""


def record_event(
    action: AuditEvent.Action,
    *,
    client: ClientInfo,
    user: User | None = None,
    username: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    return AuditEvent.objects.create(
        action=action,
        user=user,
        username=(username or (user.username if user else ""))[:150],
        ip_address=client.ip_address,
        user_agent=client.user_agent[:300],
        detail=detail or {},
    )


def _secret(value: bytes) -> str:
    """The text Django's hashers store for a browser-derived key."""
    return encode_base64(value)


def register(*, account: NewAccount, client: ClientInfo) -> User:
    """Create the user and their identity at once; a taken name changes nothing."""
    if User.objects.filter(username__iexact=account.username).exists():
        raise ApiError(ErrorCode.USERNAME_TAKEN, "That username is taken.", field="username")
    try:
        with transaction.atomic():
            user = User(username=account.username)
            user.set_password(_secret(account.auth_key))
            user.save()
            Identity.objects.create(
                user=user,
                signing_public_key=account.signing_public_key,
                agreement_public_key=account.agreement_public_key,
                agreement_signature=account.agreement_signature,
                kdf_algorithm=account.kdf.algorithm,
                kdf_salt=account.kdf.salt,
                kdf_iterations=account.kdf.iterations,
                key_bundle_iv=account.key_bundle.iv,
                key_bundle_ciphertext=account.key_bundle.ciphertext,
                account_key_password_iv=account.account_key_by_password.iv,
                account_key_password_ciphertext=account.account_key_by_password.ciphertext,
                account_key_recovery_iv=account.account_key_by_recovery.iv,
                account_key_recovery_ciphertext=account.account_key_by_recovery.ciphertext,
                recovery_auth_hash=make_password(_secret(account.recovery_auth)),
            )
            KeyEvent.objects.create(
                user=user,
                kind=KeyEvent.Kind.CREATED,
                key_version=1,
                signing_public_key=account.signing_public_key,
                agreement_public_key=account.agreement_public_key,
            )
            record_event(AuditEvent.Action.SIGNUP, client=client, user=user)
    except IntegrityError:  # the same name registered concurrently
        raise ApiError(ErrorCode.USERNAME_TAKEN, "That username is taken.", field="username") from None
    return user


def log_in(*, username: str, auth_key: bytes, client: ClientInfo) -> User:
    """Check the auth key; failures count against the name and the address in the shared throttle."""
    address = client.ip_address or "unknown"
    throttle.check(throttle.LOGIN_PER_USERNAME, username)
    throttle.check(throttle.LOGIN_PER_ADDRESS, address)
    user = authenticate(username=username, password=_secret(auth_key))
    if user is None or not Identity.objects.filter(user=user).exists():
        throttle.hit(throttle.LOGIN_PER_USERNAME, username)
        throttle.hit(throttle.LOGIN_PER_ADDRESS, address)
        known = User.objects.filter(username__iexact=username).first()
        record_event(AuditEvent.Action.LOGIN_FAILED, client=client, user=known, username=username)
        raise ApiError(ErrorCode.INVALID_CREDENTIALS, WRONG_LOGIN)
    throttle.clear(throttle.LOGIN_PER_USERNAME, username)
    record_event(AuditEvent.Action.LOGIN_OK, client=client, user=user)
    return user


def log_out(*, user: User, client: ClientInfo) -> None:
    record_event(AuditEvent.Action.LOGOUT, client=client, user=user)


def _replace_password(identity: Identity, new: NewPassword) -> None:
    """Re-wrap only the account key: identity keys and everything sealed under them stay as they are."""
    identity.kdf_algorithm = new.kdf.algorithm
    identity.kdf_salt = new.kdf.salt
    identity.kdf_iterations = new.kdf.iterations
    identity.account_key_password_iv = new.account_key_by_password.iv
    identity.account_key_password_ciphertext = new.account_key_by_password.ciphertext
    identity.save()
    identity.user.set_password(_secret(new.auth_key))
    identity.user.save(update_fields=["password"])


def change_password(*, user: User, current_auth_key: bytes, new: NewPassword, client: ClientInfo) -> Identity:
    throttle.check(throttle.LOGIN_PER_USERNAME, user.username)
    if not user.check_password(_secret(current_auth_key)):
        throttle.hit(throttle.LOGIN_PER_USERNAME, user.username)
        raise ApiError(ErrorCode.INVALID_CREDENTIALS, "Your current password is wrong.", field="current_auth_key")
    with transaction.atomic():
        identity = Identity.objects.select_for_update().select_related("user").get(user=user)
        _replace_password(identity, new)
        record_event(AuditEvent.Action.PASSWORD_CHANGE, client=client, user=user)
    return identity


@functools.cache
def _decoy_hash() -> str:
    return make_password(secrets.token_urlsafe(32))


def _check_recovery(*, username: str, recovery_auth: bytes, client: ClientInfo) -> Identity:
    throttle.check(throttle.RECOVERY_PER_USERNAME, username)
    identity = identity_by_username(username)
    # Hash even for an unknown name, so both answers take as long.
    stored = identity.recovery_auth_hash if identity else _decoy_hash()
    if not check_password(_secret(recovery_auth), stored) or identity is None:
        throttle.hit(throttle.RECOVERY_PER_USERNAME, username)
        record_event(
            AuditEvent.Action.RECOVERY_FAILED,
            client=client,
            user=identity.user if identity else None,
            username=username,
        )
        raise ApiError(ErrorCode.INVALID_CREDENTIALS, WRONG_RECOVERY)
    return identity


def begin_recovery(*, username: str, recovery_auth: bytes, client: ClientInfo) -> tuple[Identity, Sealed]:
    """Hand the recovery-wrapped account key to whoever proves they hold the recovery key."""
    identity = _check_recovery(username=username, recovery_auth=recovery_auth, client=client)
    return identity, account_key_by_recovery(identity)


def finish_recovery(*, username: str, recovery_auth: bytes, new: NewPassword, client: ClientInfo) -> Identity:
    checked = _check_recovery(username=username, recovery_auth=recovery_auth, client=client)
    with transaction.atomic():
        identity = Identity.objects.select_for_update().select_related("user").get(pk=checked.pk)
        _replace_password(identity, new)
        record_event(AuditEvent.Action.RECOVERY, client=client, user=identity.user)
    throttle.clear(throttle.RECOVERY_PER_USERNAME, username)
    throttle.clear(throttle.LOGIN_PER_USERNAME, username)
    return identity
