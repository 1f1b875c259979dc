"""Sign-up takes keys, never a password, and refuses anything malformed without writing."""

import base64
from typing import Any

import pytest
from django.contrib.auth.hashers import identify_hasher
from django.test import Client

from accounts.models import AuditEvent, Identity, KeyEvent, User
from accounts.tests.factories import b64, post, sealed, signup_body

SIGNUP = "/api/accounts/signup"


def refused(client: Client, body: Any, status: int = 400) -> dict[str, Any]:
    response = post(client, SIGNUP, body)
    assert response.status_code == status, response.content
    assert not User.objects.exists() or status == 409
    assert not Identity.objects.filter(user__username="alice").exists() or status == 409
    return response.json()["error"]


def test_signup_creates_the_user_identity_key_history_and_audit_event_and_signs_in(
    browser_client: Client, real_hashing: None
) -> None:
    auth_key = bytes(range(32))
    body = signup_body("Alice", with_auth_key=auth_key)
    response = post(browser_client, SIGNUP, body)
    assert response.status_code == 201
    user = response.json()["user"]
    assert user["username"] == "Alice"
    assert user["signing_public_key"] == body["signing_public_key"]
    assert user["key_bundle"] == body["key_bundle"]
    assert user["account_key_by_password"] == body["account_key_by_password"]
    assert len(user["fingerprint"].split()) == 8

    stored = User.objects.get(username="Alice")
    assert identify_hasher(stored.password).algorithm == "argon2"
    assert stored.check_password(b64(auth_key))
    assert KeyEvent.objects.filter(user=stored, kind="created", key_version=1).count() == 1
    assert AuditEvent.objects.filter(user=stored, action="signup", ip_address="127.0.0.1").count() == 1
    assert browser_client.get("/api/accounts/me").json()["user"]["username"] == "Alice"


def test_signup_keeps_no_auth_key_or_recovery_value_in_clear(browser_client: Client, real_hashing: None) -> None:
    body = signup_body()
    post(browser_client, SIGNUP, body)
    identity = Identity.objects.get()
    for secret in (body["auth_key"], body["recovery_auth"]):
        assert secret not in identity.user.password
        assert secret not in identity.recovery_auth_hash
    assert identify_hasher(identity.recovery_auth_hash).algorithm == "argon2"


def test_usernames_are_unique_without_regard_to_case(browser_client: Client) -> None:
    assert post(browser_client, SIGNUP, signup_body("alice")).status_code == 201
    other = Client(enforce_csrf_checks=True)
    other.get("/")
    error = post(other, SIGNUP, signup_body("ALICE")).json()["error"]
    assert error["code"] == "username_taken"
    assert User.objects.count() == 1


@pytest.mark.parametrize("name", ["al", "a" * 33, "al ice", "alice!", "äpfel", "", "<img>"])
def test_signup_refuses_an_invalid_username(browser_client: Client, name: str) -> None:
    error = refused(browser_client, signup_body(name))
    assert error["code"] in {"invalid_username", "bad_length"}
    assert error["field"] == "username"


@pytest.mark.parametrize("name", ["abc", "a" * 32, "Al_ic.e-9"])
def test_signup_accepts_letters_digits_and_punctuation_within_bounds(browser_client: Client, name: str) -> None:
    assert post(browser_client, SIGNUP, signup_body(name)).status_code == 201


BAD_FIELDS = [
    ("auth_key", b64(bytes(31)), "bad_length", "auth_key"),
    ("auth_key", "not base64!", "bad_base64", "auth_key"),
    ("auth_key", 12345, "wrong_type", "auth_key"),
    ("signing_public_key", b64(bytes(33)), "bad_length", "signing_public_key"),
    ("agreement_public_key", b64(bytes(16)), "bad_length", "agreement_public_key"),
    ("agreement_signature", b64(bytes(64)), "bad_signature", "agreement_signature"),
    ("recovery_auth", None, "missing_field", "recovery_auth"),
    ("account_key_by_password", sealed(31), "bad_length", "account_key_by_password.ciphertext"),
    ("account_key_by_recovery", {"iv": b64(bytes(11)), "ciphertext": b64(bytes(48))}, "bad_length", None),
    ("key_bundle", sealed(5000), "bad_length", "key_bundle.ciphertext"),
    ("key_bundle", "blob", "wrong_type", "key_bundle"),
    ("kdf", {"algorithm": "PBKDF2-SHA256", "salt": b64(bytes(16)), "iterations": 1000}, "out_of_range", None),
    ("kdf", {"algorithm": "PBKDF2-SHA256", "salt": b64(bytes(16)), "iterations": True}, "wrong_type", None),
    ("kdf", {"algorithm": "scrypt", "salt": b64(bytes(16)), "iterations": 600000}, "unsupported_algorithm", None),
    ("kdf", {"algorithm": "PBKDF2-SHA256", "salt": b64(bytes(8)), "iterations": 600000}, "bad_length", "kdf.salt"),
]


@pytest.mark.parametrize(("field", "value", "code", "reported"), BAD_FIELDS)
def test_signup_refuses_a_malformed_field_and_writes_nothing(
    browser_client: Client, field: str, value: Any, code: str, reported: str | None
) -> None:
    error = refused(browser_client, signup_body(**{field: value}))
    assert error["code"] == code
    assert error["field"].startswith(reported or field)
    assert not AuditEvent.objects.exists()


def test_signature_by_another_signing_key_is_refused(browser_client: Client) -> None:
    genuine, other = signup_body("alice"), signup_body("mallory")
    error = refused(browser_client, {**genuine, "agreement_signature": other["agreement_signature"]})
    assert error["code"] == "bad_signature"


@pytest.mark.parametrize("raw", [b"", b"not json", b"[1, 2]", b'"alice"', '{"username": "\u00e9"'.encode()])
def test_signup_refuses_a_body_that_is_not_a_json_object(browser_client: Client, raw: bytes) -> None:
    token = browser_client.cookies["csrftoken"].value
    response = browser_client.post(SIGNUP, raw, content_type="application/json", headers={"X-CSRFToken": token})
    assert response.status_code == 400
    assert response.json()["error"]["code"] in {"invalid_json", "wrong_type"}


def test_signup_refuses_a_huge_body(browser_client: Client) -> None:
    body = signup_body(padding=base64.b64encode(bytes(70_000)).decode())
    response = post(browser_client, SIGNUP, body)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"


def test_signup_without_the_csrf_token_is_refused(db: None) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post(SIGNUP, signup_body(), content_type="application/json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf_failed"
    assert not User.objects.exists()


def test_signup_only_accepts_post(browser_client: Client) -> None:
    response = browser_client.get(SIGNUP)
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
