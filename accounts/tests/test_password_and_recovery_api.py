"""A password change or a recovery re-wraps only the account key; the identity never changes."""

import os

import pytest
from django.test import Client

from accounts.models import AuditEvent, Identity
from accounts.tests.factories import api_client, b64, new_password_body, post, signup_body

OLD_KEY, NEW_KEY, RECOVERY = bytes(32), bytes(range(32)), bytes(range(100, 132))


@pytest.fixture
def alice(browser_client: Client) -> tuple[Client, dict]:
    body = signup_body("alice", with_auth_key=OLD_KEY, recovery_auth=b64(RECOVERY))
    assert post(browser_client, "/api/accounts/signup", body).status_code == 201
    return browser_client, body


def can_log_in(auth_key: bytes) -> bool:
    client = api_client()
    return post(client, "/api/accounts/login", {"username": "alice", "auth_key": b64(auth_key)}).status_code == 200


def identity_keys() -> tuple[bytes, bytes, bytes, int]:
    identity = Identity.objects.get()
    return (
        bytes(identity.signing_public_key),
        bytes(identity.agreement_public_key),
        bytes(identity.key_bundle_ciphertext),
        identity.key_version,
    )


def test_password_change_rewraps_the_account_key_and_the_old_password_stops_working(alice: tuple) -> None:
    client, signup = alice
    before = identity_keys()
    body = new_password_body(NEW_KEY, current_auth_key=b64(OLD_KEY))
    response = post(client, "/api/accounts/password", body)
    assert response.status_code == 200
    user = response.json()["user"]
    assert user["account_key_by_password"] == body["account_key_by_password"]
    assert user["kdf"] == body["kdf"] != signup["kdf"]
    assert identity_keys() == before
    assert client.get("/api/accounts/me").status_code == 200  # this session stays signed in
    assert not can_log_in(OLD_KEY)
    assert can_log_in(NEW_KEY)
    assert AuditEvent.objects.filter(action="password_change").count() == 1


def test_password_change_with_the_wrong_current_password_changes_nothing(alice: tuple) -> None:
    client, signup = alice
    response = post(client, "/api/accounts/password", new_password_body(NEW_KEY, current_auth_key=b64(os.urandom(32))))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_credentials"
    assert can_log_in(OLD_KEY) and not can_log_in(NEW_KEY)
    assert client.get("/api/accounts/me").json()["user"]["kdf"] == signup["kdf"]


def test_password_change_needs_a_signed_in_user(db: None) -> None:
    response = post(api_client(), "/api/accounts/password", new_password_body(NEW_KEY, current_auth_key=b64(OLD_KEY)))
    assert response.status_code == 401


def test_other_sessions_end_when_the_password_changes(alice: tuple) -> None:
    client, _ = alice
    other = api_client()
    post(other, "/api/accounts/login", {"username": "alice", "auth_key": b64(OLD_KEY)})
    post(client, "/api/accounts/password", new_password_body(NEW_KEY, current_auth_key=b64(OLD_KEY)))
    assert other.get("/api/accounts/me").status_code == 401


def test_recovery_hands_out_the_recovery_wrapped_key_then_sets_a_new_password(alice: tuple) -> None:
    _, signup = alice
    before = identity_keys()
    client = api_client()
    begin = post(client, "/api/accounts/recover/begin", {"username": "ALICE", "recovery_auth": b64(RECOVERY)})
    assert begin.status_code == 200
    assert begin.json() == {"username": "alice", "account_key_by_recovery": signup["account_key_by_recovery"]}

    body = new_password_body(NEW_KEY, username="alice", recovery_auth=b64(RECOVERY))
    finish = post(client, "/api/accounts/recover/finish", body)
    assert finish.status_code == 200
    assert finish.json()["user"]["account_key_by_password"] == body["account_key_by_password"]
    assert client.get("/api/accounts/me").status_code == 200
    assert identity_keys() == before
    assert not can_log_in(OLD_KEY) and can_log_in(NEW_KEY)
    assert AuditEvent.objects.filter(action="recovery").count() == 1


@pytest.mark.parametrize("username", ["alice", "nobody"])
def test_a_wrong_recovery_key_or_unknown_name_gets_the_same_refusal(alice: tuple, username: str) -> None:
    client = api_client()
    begin = post(client, "/api/accounts/recover/begin", {"username": username, "recovery_auth": b64(os.urandom(32))})
    assert begin.status_code == 400
    assert begin.json()["error"] == {"code": "invalid_credentials", "detail": "Wrong username or recovery key."}
    body = new_password_body(NEW_KEY, username=username, recovery_auth=b64(os.urandom(32)))
    assert post(client, "/api/accounts/recover/finish", body).status_code == 400
    assert can_log_in(OLD_KEY)


def test_recovery_attempts_are_throttled(alice: tuple) -> None:
    client = api_client()
    for _ in range(5):
        post(client, "/api/accounts/recover/begin", {"username": "alice", "recovery_auth": b64(os.urandom(32))})
    response = post(client, "/api/accounts/recover/begin", {"username": "alice", "recovery_auth": b64(RECOVERY)})
    assert response.status_code == 429
