"""Log-in with the auth key: same answer for a wrong password and an unknown user, throttled, audited."""

import os

import pytest
from django.test import Client

from accounts.models import AuditEvent
from accounts.selectors import username_salt
from accounts.tests.factories import api_client, b64, post, signup_body

AUTH_KEY = bytes(range(32))


@pytest.fixture
def alice(browser_client: Client) -> dict:
    body = signup_body("alice", with_auth_key=AUTH_KEY)
    assert post(browser_client, "/api/accounts/signup", body).status_code == 201
    return body


def log_in(username: str, auth_key: bytes, client: Client | None = None) -> tuple[Client, object]:
    client = client or api_client()
    return client, post(client, "/api/accounts/login", {"username": username, "auth_key": b64(auth_key)})


def test_prelogin_returns_the_stored_salt_and_iterations(alice: dict) -> None:
    response = post(api_client(), "/api/accounts/prelogin", {"username": "ALICE"})
    assert response.json() == {"kdf": alice["kdf"]}


def test_prelogin_for_an_unknown_name_is_a_stable_decoy_shaped_like_a_real_answer(db: None) -> None:
    first = post(api_client(), "/api/accounts/prelogin", {"username": "nobody"}).json()
    second = post(api_client(), "/api/accounts/prelogin", {"username": "NoBody"}).json()
    other = post(api_client(), "/api/accounts/prelogin", {"username": "someone"}).json()
    assert first == second
    assert first["kdf"]["salt"] != other["kdf"]["salt"]
    # The salt a browser would derive for that name itself: like an account's, and telling nothing.
    assert first["kdf"]["salt"] == b64(username_salt("nobody"))
    assert username_salt("Alice").hex() == "0f0ea9d29caa11e42712c855b7f701c2"
    assert first["kdf"]["iterations"] == 600_000 and first["kdf"]["algorithm"] == "PBKDF2-SHA256"


def test_login_with_the_right_auth_key_signs_in_and_returns_the_wrapped_keys(alice: dict) -> None:
    client, response = log_in("Alice", AUTH_KEY)
    assert response.status_code == 200
    user = response.json()["user"]
    assert user["key_bundle"] == alice["key_bundle"]
    assert user["account_key_by_password"] == alice["account_key_by_password"]
    assert user["kdf"] == alice["kdf"]
    assert client.get("/api/accounts/me").status_code == 200
    assert AuditEvent.objects.filter(action="login_ok", user__username="alice").count() == 1


def test_wrong_password_and_unknown_user_get_the_same_answer(alice: dict) -> None:
    _, wrong = log_in("alice", os.urandom(32))
    _, unknown = log_in("nobody", os.urandom(32))
    assert wrong.status_code == unknown.status_code == 400
    assert (
        wrong.json()
        == unknown.json()
        == {"error": {"code": "invalid_credentials", "detail": "Wrong username or password."}}
    )
    failed = AuditEvent.objects.filter(action="login_failed")
    assert sorted(failed.values_list("username", flat=True)) == ["alice", "nobody"]
    assert failed.get(username="alice").user is not None


def test_repeated_failures_for_one_name_are_throttled_even_with_the_right_key(alice: dict) -> None:
    for _ in range(5):
        assert log_in("alice", os.urandom(32))[1].status_code == 400
    _, response = log_in("alice", AUTH_KEY)
    assert response.status_code == 429
    error = response.json()["error"]
    assert error["code"] == "rate_limited"
    assert "Try again in 15 minutes" in error["detail"]
    assert 0 < int(response["Retry-After"]) <= 900


def test_repeated_failures_from_one_address_are_throttled_across_names_that_never_signed_in_there(alice: dict) -> None:
    bob = signup_body("bob", with_auth_key=AUTH_KEY)
    assert post(api_client("192.0.2.9"), "/api/accounts/signup", bob).status_code == 201
    for attempt in range(30):
        log_in(f"user{attempt}", os.urandom(32))
    _, response = log_in("bob", AUTH_KEY)
    assert response.status_code == 429
    # alice signed up from this address: other people's failures here do not lock her out.
    assert log_in("alice", AUTH_KEY)[1].status_code == 200


def test_a_good_login_clears_the_failures_for_that_name(alice: dict) -> None:
    for _ in range(4):
        log_in("alice", os.urandom(32))
    assert log_in("alice", AUTH_KEY)[1].status_code == 200
    for _ in range(4):
        log_in("alice", os.urandom(32))
    assert log_in("alice", AUTH_KEY)[1].status_code == 200


def test_logout_ends_the_session(alice: dict) -> None:
    client, _ = log_in("alice", AUTH_KEY)
    response = post(client, "/api/accounts/logout", {})
    assert response.status_code == 204
    assert client.get("/api/accounts/me").json()["error"]["code"] == "not_authenticated"
    assert AuditEvent.objects.filter(action="logout").count() == 1


def test_logout_form_ends_the_session_and_returns_to_login(alice: dict) -> None:
    client, _ = log_in("alice", AUTH_KEY)
    response = client.post("/accounts/logout/", {"csrfmiddlewaretoken": client.cookies["csrftoken"].value})
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert client.get("/api/accounts/me").status_code == 401
