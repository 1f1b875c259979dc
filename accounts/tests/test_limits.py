"""Requests per client address on the endpoints that cost a password hash or answer about any name: sign-up,
pre-login with log-in, and recovery (accounts/limits.py). Over a limit: ``rate_limited``, a sentence saying what and
for how long, and ``Retry-After``; other addresses are not affected."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.test import Client

from accounts.models import User
from accounts.tests.factories import api_client, b64, new_password_body, post, signup_body

HOUSEHOLD, NEIGHBOUR = "198.51.100.20", "198.51.100.21"


def assert_rate_limited(response: Any, detail: str, window_seconds: int) -> None:
    assert response.status_code == 429, response.content
    error = response.json()["error"]
    assert error["code"] == "rate_limited"
    assert error["detail"].startswith(detail) and "Try again in " in error["detail"]
    assert 0 < int(response["Retry-After"]) <= window_seconds


def test_a_household_behind_one_address_signs_up_at_least_ten_accounts_an_hour_and_no_more_than_the_limit(
    db: None,
) -> None:
    limit = settings.SIGNUP_PER_ADDRESS_PER_HOUR
    assert limit >= 10
    client = api_client(HOUSEHOLD)
    for index in range(limit):
        assert post(client, "/api/accounts/signup", signup_body(f"member{index}")).status_code == 201
    assert_rate_limited(
        post(client, "/api/accounts/signup", signup_body("one-more")), "Too many sign-ups from your address.", 3600
    )
    assert not User.objects.filter(username="one-more").exists()
    assert post(api_client(NEIGHBOUR), "/api/accounts/signup", signup_body("one-more")).status_code == 201


def test_pre_login_and_log_in_requests_from_one_address_count_together_per_minute(db: None, settings: Any) -> None:
    settings.PRELOGIN_PER_ADDRESS_PER_MINUTE = 6
    client = api_client(HOUSEHOLD)
    for index in range(3):
        assert post(client, "/api/accounts/prelogin", {"username": f"someone{index}"}).status_code == 200
        body = {"username": f"someone{index}", "auth_key": b64(os.urandom(32))}
        assert post(client, "/api/accounts/login", body).status_code == 400
    assert_rate_limited(
        post(client, "/api/accounts/prelogin", {"username": "nob"}), "Too many log-in attempts from your address.", 60
    )
    body = {"username": "nob", "auth_key": b64(os.urandom(32))}
    assert_rate_limited(post(client, "/api/accounts/login", body), "Too many log-in attempts from your address.", 60)
    assert post(api_client(NEIGHBOUR), "/api/accounts/prelogin", {"username": "nob"}).status_code == 200


def test_recovery_requests_from_one_address_are_limited_per_hour_whatever_the_names(browser_client: Client) -> None:
    recovery = os.urandom(32)
    body = signup_body("alice", recovery_auth=b64(recovery))
    assert post(browser_client, "/api/accounts/signup", body).status_code == 201
    client = api_client(HOUSEHOLD)
    for index in range(settings.RECOVERY_PER_ADDRESS_PER_HOUR):
        step = "begin" if index % 2 else "finish"  # both steps check a recovery key, so both count
        body = {"username": f"someone{index}", "recovery_auth": b64(os.urandom(32)), **new_password_body(b"k" * 32)}
        answer = post(client, f"/api/accounts/recover/{step}", body)
        assert answer.json()["error"]["code"] == "invalid_credentials"
    alices = {"username": "alice", "recovery_auth": b64(recovery)}
    answer = post(client, "/api/accounts/recover/begin", alices)
    assert_rate_limited(answer, "Too many recovery attempts from your address.", 3600)
    assert post(api_client(NEIGHBOUR), "/api/accounts/recover/begin", alices).status_code == 200
