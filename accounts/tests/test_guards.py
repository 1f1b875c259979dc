"""Throttles a stranger cannot aim: failed proofs of a secret count per account and address, per address, and per
account (accounts/limits.py), so strangers' failures refuse the strangers, never the owner at her own address.

Each test is the attack: strangers at other addresses fail again and again, then the owner, at the address she
signed in from, gives the right secret. Guessing from one address, and guessing one account from many, still slows
down. The numbers come from the policy itself; SECURITY.md states them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from itertools import count
from typing import Any

import pytest
from django.test import Client

from accounts import limits
from accounts.models import AuditEvent
from accounts.tests.factories import api_client, b64, new_password_body, post, reset_body, signup_body
from toolkit.throttle import Guard

PASSWORD, RECOVERY = bytes(range(32)), bytes(range(100, 132))
HOME = "198.51.100.7"  # where alice signed up and signs in


@pytest.fixture
def alice(db: None) -> Client:
    """alice, signed up from HOME (and so signed in there); her client stays signed in."""
    client = api_client(HOME)
    body = signup_body("alice", with_auth_key=PASSWORD, recovery_auth=b64(RECOVERY))
    assert post(client, "/api/accounts/signup", body).status_code == 201
    return client


@pytest.fixture
def strangers() -> Iterator[str]:
    """Fresh addresses, one after another, none of them alice's."""
    return (f"203.0.113.{index}" for index in count(1))


def log_in(address: str, secret: bytes, username: str = "alice") -> Any:
    return post(api_client(address), "/api/accounts/login", {"username": username, "auth_key": b64(secret)})


def recover(address: str, secret: bytes, username: str = "alice") -> Any:
    body = {"username": username, "recovery_auth": b64(secret)}
    return post(api_client(address), "/api/accounts/recover/begin", body)


def wrong() -> bytes:
    return os.urandom(32)


def refused(response: Any) -> bool:
    if response.status_code != 429:
        assert response.status_code == 400, response.content
        return False
    assert response.json()["error"]["code"] == "rate_limited"
    assert int(response["Retry-After"]) > 0
    return True


def failures_until_refused(attempt: Callable[[], Any], most: int) -> int:
    """How many wrong tries ``attempt`` makes before it is refused (at most ``most``, then it must be)."""
    for failures in range(most + 1):
        if refused(attempt()):
            return failures
    raise AssertionError(f"still not refused after {most + 1} wrong tries")


def strangers_guess(
    guess: Callable[[str, bytes], Any], right: bytes, guard: Guard, strangers: Iterator[str], how_many: int
) -> int:
    """``how_many`` strangers, each guessing as long as they are let, then trying the right secret: refused too, as
    that stranger is done with the account. How many wrong guesses they made in all."""
    failures = 0
    for _ in range(how_many):
        address = next(strangers)
        failures += failures_until_refused(
            lambda address=address: guess(address, wrong()), limits.PASSWORD.pair.attempts
        )
        assert refused(guess(address, right))
    return failures


def test_strangers_failures_from_other_addresses_do_not_stop_the_owners_log_in_from_her_address(
    alice: Client, strangers: Iterator[str]
) -> None:
    guard = limits.PASSWORD
    failures = strangers_guess(log_in, PASSWORD, guard, strangers, 30)  # every count there is gets used up

    assert log_in(HOME, PASSWORD).status_code == 200
    assert failures > guard.account.attempts
    assert AuditEvent.objects.filter(action="login_failed").count() == failures
    # She can still mistype at home, as anyone can.
    assert not refused(log_in(HOME, wrong()))
    assert log_in(HOME, PASSWORD).status_code == 200
    # From a new address (a new device) the guarded account gives one try at a time: the right one gets in.
    assert log_in(next(strangers), PASSWORD).status_code == 200


def test_guessing_from_one_address_is_refused_for_that_account_then_for_every_account(
    alice: Client, strangers: Iterator[str]
) -> None:
    guard, attacker = limits.PASSWORD, next(strangers)
    for _ in range(guard.pair.attempts):
        assert not refused(log_in(attacker, wrong()))
    answer = log_in(attacker, PASSWORD)
    assert refused(answer)
    assert "Too many failed log-in attempts for this account from your address" in answer.json()["error"]["detail"]
    assert 0 < int(answer["Retry-After"]) <= guard.pair.window_seconds

    # Other names from the same address, until the address's own count is used up: then any name is refused unheard.
    names = iter(f"someone{index}" for index in count())
    failures = guard.pair.attempts + 1
    while failures < guard.address.attempts:
        assert not refused(log_in(attacker, wrong(), next(names)))
        failures += 1
    answer = log_in(attacker, wrong(), next(names))
    assert refused(answer)
    assert "from your address" in answer.json()["error"]["detail"]
    assert log_in(HOME, PASSWORD).status_code == 200


def test_guessing_one_account_from_many_addresses_slows_to_one_try_per_new_address(
    alice: Client, strangers: Iterator[str]
) -> None:
    guard = limits.PASSWORD
    failures = 0
    while failures < guard.account.attempts:  # a few tries from each of many addresses
        address = next(strangers)
        for _ in range(min(guard.pair.attempts - 1, guard.account.attempts - failures)):
            assert not refused(log_in(address, wrong()))
            failures += 1
    # Now the account is guarded: a new address has one try, not five.
    address = next(strangers)
    assert not refused(log_in(address, wrong()))
    answer = log_in(address, wrong())
    assert refused(answer)
    assert "one try at a time" in answer.json()["error"]["detail"]
    # The owner, at home, has her usual allowance.
    for _ in range(guard.pair.attempts - 1):
        assert not refused(log_in(HOME, wrong()))
    assert log_in(HOME, PASSWORD).status_code == 200


def test_a_strangers_failed_password_changes_do_not_stop_the_owners_change(
    alice: Client, strangers: Iterator[str]
) -> None:
    """A stolen session guessing the current password from elsewhere is refused; alice, at home, changes it."""
    thief = api_client(next(strangers))
    thief.cookies = alice.cookies  # alice's session cookie, taken elsewhere
    for _ in range(limits.PASSWORD.pair.attempts):
        body = new_password_body(wrong(), current_auth_key=b64(wrong()))
        assert post(thief, "/api/accounts/password", body).json()["error"]["code"] == "invalid_credentials"
    assert refused(post(thief, "/api/accounts/password", new_password_body(wrong(), current_auth_key=b64(PASSWORD))))

    response = post(alice, "/api/accounts/password", new_password_body(wrong(), current_auth_key=b64(PASSWORD)))
    assert response.status_code == 200


def test_strangers_wrong_recovery_keys_do_not_stop_the_owners_recovery_or_reset_from_her_address(
    alice: Client, strangers: Iterator[str]
) -> None:
    guard = limits.RECOVERY_KEY
    failures = strangers_guess(recover, RECOVERY, guard, strangers, 8)

    assert recover(HOME, RECOVERY).status_code == 200
    assert failures > guard.pair.attempts
    address = next(strangers)  # the account is guarded: one try from a new address
    assert failures_until_refused(lambda: recover(address, wrong()), guard.pair.attempts) == guard.guarded_attempts
    # A key reset proven with the recovery key, from home, goes through too.
    body = reset_body("alice", PASSWORD)
    del body["current_auth_key"]
    body["current_recovery_auth"] = b64(RECOVERY)
    assert post(alice, "/api/accounts/reset", body).status_code == 200
