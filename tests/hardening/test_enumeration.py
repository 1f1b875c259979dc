"""Who has an account? Pre-login, log-in, recovery and the key directory do not tell a stranger.

Each answer for an existing name is compared with the answer for a name nobody has: same status, same
body (or, where the body must differ, the same shape), and for log-in and recovery about the same time,
because the server does the same Argon2 work for a name it does not know.

Two places say on purpose that a name is taken, and are tested as such:

- Sign-up answers 409 `username_taken`: someone choosing a name has to learn it is taken, or they could
  never pick another. (Guessing names this way costs the guesser an account for every free name.)
- The key directory (`/api/keys/<name>`) answers signed-in users, who look people up to add them to a
  room or write to them: 200 or 404 there is its purpose. Strangers (signed out) learn nothing from it.
"""

from __future__ import annotations

import base64
import json
import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client

from accounts.models import AuditEvent, User
from accounts.services import _decoy_hash
from accounts.tests.factories import api_client, b64, new_password_body, post, signup_body
from tests.hardening.roles import auth_key, isolated_cache_fixture, recovery_auth  # noqa: F401 (fixtures)

EXISTING, UNKNOWN = "alice", "nobody-here"
WRONG = bytes(32)
ATTEMPTS = 15
# The difference guarded against is ~50x (an Argon2 hash against none); machines are noisy, so generous.
SLOWEST_RATIO, FASTEST_RATIO = 2.0, 0.5

pytestmark = pytest.mark.usefixtures("isolated_cache", "quick_argon2")


@pytest.fixture
def quick_argon2(settings: Any) -> Iterator[None]:
    settings.PASSWORD_HASHERS = ["tests.hardening.roles.QuickArgon2"]
    # The recovery decoy is hashed once per process: with this hasher here, as a real deployment's is with its own.
    _decoy_hash.cache_clear()
    yield
    _decoy_hash.cache_clear()


@pytest.fixture
def alice(db: None) -> User:
    """A real account, made through the API with the real (Argon2) hashing."""
    body = signup_body(EXISTING, with_auth_key=auth_key(EXISTING), recovery_auth=b64(recovery_auth(EXISTING)))
    assert post(api_client(), "/api/accounts/signup", body).status_code == 201
    return User.objects.get(username=EXISTING)


def ask(url: str, body: dict[str, Any], address: str = "192.0.2.1") -> Any:
    client = Client(enforce_csrf_checks=True, REMOTE_ADDR=address)
    client.get("/")
    return post(client, url, body)


def same_answer(url: str, body_for: Callable[[str], dict[str, Any]]) -> tuple[Any, Any]:
    existing, unknown = ask(url, body_for(EXISTING)), ask(url, body_for(UNKNOWN))
    assert existing.status_code == unknown.status_code, (existing.status_code, unknown.status_code)
    return existing, unknown


def shape(value: Any) -> Any:
    """The JSON's structure: keys, types, and the decoded length of base64 strings."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, str):
        try:
            return ("base64", len(base64.b64decode(value, validate=True)))
        except ValueError:
            return "str"
    return type(value).__name__


def login(name: str) -> dict[str, Any]:
    return {"username": name, "auth_key": b64(WRONG)}


def recover(name: str) -> dict[str, Any]:
    return {"username": name, "recovery_auth": b64(WRONG)}


def recover_finish(name: str) -> dict[str, Any]:
    return {**recover(name), **new_password_body(auth_key("new"))}


def test_prelogin_answers_an_unknown_name_with_a_salt_like_a_real_one(alice: User) -> None:
    existing, unknown = same_answer("/api/accounts/prelogin", lambda name: {"username": name})
    assert existing.status_code == 200
    assert shape(existing.json()) == shape(unknown.json())
    assert existing.json()["kdf"]["iterations"] == unknown.json()["kdf"]["iterations"]


@pytest.mark.parametrize(
    ("url", "body_for"),
    [
        ("/api/accounts/login", login),
        ("/api/accounts/recover/begin", recover),
        ("/api/accounts/recover/finish", recover_finish),
    ],
    ids=["login", "recover-begin", "recover-finish"],
)
def test_a_wrong_secret_for_an_existing_name_answers_like_an_unknown_name(alice: User, url: str, body_for: Any) -> None:
    existing, unknown = same_answer(url, body_for)
    assert existing.status_code == 400
    assert existing.json() == unknown.json()
    assert existing.json()["error"]["code"] == "invalid_credentials"


@pytest.mark.parametrize(
    ("url", "body_for"), [("/api/accounts/login", login), ("/api/accounts/recover/begin", recover)]
)
def test_the_per_name_throttle_trips_alike_for_existing_and_unknown_names(alice: User, url: str, body_for: Any) -> None:
    """Five wrong tries, then `rate_limited`, for a name with an account and for one without."""
    for attempt in range(6):
        existing, unknown = same_answer(url, body_for)
        # The wait a refusal names may differ by a second between the two.
        assert without_retry_after(existing.json()) == without_retry_after(unknown.json()), attempt
        assert existing.status_code == (429 if attempt == 5 else 400), attempt
        assert existing.json()["error"]["code"] == unknown.json()["error"]["code"]


@pytest.mark.parametrize("path", ["/api/keys/{name}", "/api/keys?ids={id}", "/api/key-history?id={id}"])
def test_the_key_directory_tells_strangers_nothing(alice: User, path: str) -> None:
    existing = Client().get(path.format(name=EXISTING, id=alice.pk))
    unknown = Client().get(path.format(name=UNKNOWN, id=alice.pk + 1000))
    assert (existing.status_code, existing.content) == (unknown.status_code, unknown.content)
    assert existing.status_code == 401


def test_the_key_directory_answers_signed_in_users_by_design(alice: User) -> None:
    bob = User.objects.create_user("bob")
    client = Client()
    client.force_login(bob)
    assert client.get(f"/api/keys/{EXISTING}").status_code == 200
    assert client.get(f"/api/keys/{UNKNOWN}").json()["error"]["code"] == "not_found"


def test_sign_up_says_a_name_is_taken_by_design_and_changes_nothing(alice: User) -> None:
    events = AuditEvent.objects.count()
    taken = ask("/api/accounts/signup", signup_body(EXISTING.upper()))
    assert taken.status_code == 409
    assert taken.json()["error"] == {"code": "username_taken", "detail": "That username is taken.", "field": "username"}
    assert User.objects.filter(username__iexact=EXISTING).count() == 1
    assert AuditEvent.objects.count() == events


# --- timing ------------------------------------------------------------------------------------


def timed_attempts(url: str, body_for: Callable[[str], dict[str, Any]], status: int = 400) -> dict[str, list[float]]:
    """``ATTEMPTS`` wrong tries for each name, interleaved, each from its own address: one try per name and address,
    so the guards (accounts/limits.py) never answer in place of the password check."""
    times: dict[str, list[float]] = {EXISTING: [], UNKNOWN: []}
    for attempt in range(ATTEMPTS):
        for name in (EXISTING, UNKNOWN) if attempt % 2 else (UNKNOWN, EXISTING):
            client = Client(enforce_csrf_checks=True, REMOTE_ADDR=f"198.51.100.{attempt * 2 + (name == EXISTING)}")
            client.get("/")
            token = client.cookies["csrftoken"].value
            data = json.dumps(body_for(name))
            started = time.perf_counter()
            response = client.post(url, data, content_type="application/json", headers={"X-CSRFToken": token})
            times[name].append(time.perf_counter() - started)
            assert response.status_code == status, response.content
    return times


@pytest.mark.parametrize(
    ("url", "body_for"), [("/api/accounts/login", login), ("/api/accounts/recover/begin", recover)]
)
def test_a_wrong_secret_takes_as_long_for_an_unknown_name(alice: User, url: str, body_for: Any) -> None:
    times = timed_attempts(url, body_for)
    existing, unknown = statistics.median(times[EXISTING]), statistics.median(times[UNKNOWN])
    ratio = unknown / existing
    assert FASTEST_RATIO <= ratio <= SLOWEST_RATIO, f"median {unknown:.4f}s (unknown) vs {existing:.4f}s (existing)"
    # The test can tell: a request that hashes nothing (pre-login) is several times faster than these.
    no_hash = statistics.median(timed_attempts("/api/accounts/prelogin", lambda name: {"username": name}, 200)[UNKNOWN])
    assert no_hash * 2 < existing, f"pre-login {no_hash:.4f}s is not clearly faster than a check {existing:.4f}s"


def without_retry_after(answer: dict[str, Any]) -> dict[str, Any]:
    return {**answer, "error": {k: v for k, v in answer["error"].items() if k != "retry_after"}}
