"""Hostile input on every JSON endpoint: never a 500, always a stable error code, never a partial write.

Each example starts from what a well-behaved browser sends (real keys, the right current password or recovery
key) and breaks one thing, so the request passes every check but one. Every example runs in a savepoint that is
rolled back, with fresh throttle counters, so an accepted request or a counted failure does not change what the
next example meets.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings as django_settings
from django.db import transaction
from django.test import Client, override_settings
from hypothesis import given
from hypothesis import strategies as st

from accounts.models import Identity, KeyEvent, TrustStore, User
from accounts.schemas import new_account
from accounts.services import register
from accounts.tests.factories import new_password_body, sealed, signup_body
from chat.models import Envelope, Membership, Room, RosterEntry
from chat.tests.factories import LOCAL
from chat.tests.rosters import Chain, make_room
from tests import reference_roster as ref
from tests.hardening.strategies import (
    ERROR_CODES,
    NASTY_TEXT,
    b64,
    examples,
    mutated,
    raw_bodies,
    texts,
)
from toolkit.errors import HTTP_STATUS, ErrorCode
from toolkit.validation import Fields

pytestmark = pytest.mark.django_db

CSRF_TOKEN = "hardening0token0of0thirty0two0ch"  # any 32 letters and digits: Django's CSRF secret format
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")

# The user data a refused request must leave exactly as it was. AuditEvent is not here on purpose: a refusal may
# (and for failed log-ins and recoveries, must) leave a security event, and Session rows belong to log-in itself.
USER_DATA = (User, Identity, TrustStore, KeyEvent, Room, Membership, Envelope, RosterEntry)


def snapshot() -> dict[str, tuple[int, str]]:
    """Row count and a hash of every column of every row, per table."""
    state = {}
    for model in USER_DATA:
        rows = [
            tuple(bytes(value) if isinstance(value, memoryview) else value for value in row)
            for row in model.objects.order_by("pk").values_list()
        ]
        state[model.__name__] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
    return state


# --- the world every example starts from ------------------------------------------


@dataclass
class World:
    alice: User
    alice_auth: bytes
    alice_recovery: bytes
    own_room: Room  # alice owns it (an invite link is open); bob is in it
    own_chain: Chain  # its signed roster
    foreign_room: Room  # carol's (an invite link is open); alice is not in it
    foreign_chain: Chain
    direct_room: Room  # alice and bob
    legacy_room: Room  # from before rosters: carol's link room, alice in it, its old invite token works
    bodies: dict[str, dict[str, Any]] = field(default_factory=dict)
    client: Client = field(default_factory=lambda: Client(enforce_csrf_checks=True))
    session: str = ""  # alice's session key
    baseline: dict[str, tuple[int, str]] = field(default_factory=dict)  # the user data every example starts from

    def __repr__(self) -> str:  # hypothesis prints it with every failing example
        return "World(alice, bob, carol, dave; alice's room, carol's room, a direct room, a room from before rosters)"


def make_user(username: str, auth_key: bytes | None = None, recovery: bytes | None = None) -> User:
    body = signup_body(username, with_auth_key=auth_key, recovery_auth=b64(recovery or os.urandom(32)))
    return register(account=new_account(Fields(body)), client=LOCAL)


@pytest.fixture
def world(db: None, settings: Any) -> World:
    # Hashing is not under test here; Argon2 would make every example slow.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    alice_auth, alice_recovery = os.urandom(32), os.urandom(32)
    alice = make_user("alice", alice_auth, alice_recovery)
    bob, carol = make_user("bob"), make_user("carol")
    make_user("dave")
    own_room, own_chain = make_room(alice, bob, link=True)
    foreign_room, foreign_chain = make_room(carol, link=True)
    direct_room, _ = make_room(alice, bob, kind="direct")
    legacy_room = Room.objects.create(legacy_name="Old", owner=carol, policy=Room.Policy.LINK, invite_token="t" * 43)
    Membership.objects.bulk_create(Membership(room=legacy_room, user=user) for user in (carol, alice))
    new_identity = signup_body("ignored")
    del new_identity["username"]
    bodies = {
        "signup": signup_body("newcomer"),
        "prelogin": {"username": "alice"},
        "login": {"username": "alice", "auth_key": b64(alice_auth)},
        "password": {"current_auth_key": b64(alice_auth), **new_password_body(os.urandom(32))},
        "reset": {**new_identity, "current_auth_key": b64(alice_auth), "trust_store": sealed(300)},
        "trust": {"version": 0, "sealed": sealed(300), "key_version": 1},
        "recover_begin": {"username": "alice", "recovery_auth": b64(alice_recovery)},
        "recover_finish": {"username": "alice", "recovery_auth": b64(alice_recovery), **new_password_body(b"k" * 32)},
        "roster": {"entry": own_chain.entry(alice, "rename", name="Trip")},
    }
    world = World(
        alice,
        alice_auth,
        alice_recovery,
        own_room,
        own_chain,
        foreign_room,
        foreign_chain,
        direct_room,
        legacy_room,
        bodies,
    )
    world.client.force_login(alice)
    world.session = world.client.cookies[django_settings.SESSION_COOKIE_NAME].value
    world.baseline = snapshot()
    return world


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: Callable[[World], str]
    signed_in: bool  # whether the request comes from alice's session (the anonymous test covers the rest)
    login_required: bool
    methods: tuple[str, ...]


ENDPOINTS = [
    Endpoint("signup", "POST", lambda w: "/api/accounts/signup", False, False, ("POST",)),
    Endpoint("prelogin", "POST", lambda w: "/api/accounts/prelogin", False, False, ("POST",)),
    Endpoint("login", "POST", lambda w: "/api/accounts/login", False, False, ("POST",)),
    Endpoint("logout", "POST", lambda w: "/api/accounts/logout", True, False, ("POST",)),
    Endpoint("me", "GET", lambda w: "/api/accounts/me", True, True, ("GET",)),
    Endpoint("password", "POST", lambda w: "/api/accounts/password", True, True, ("POST",)),
    Endpoint("reset", "POST", lambda w: "/api/accounts/reset", True, True, ("POST",)),
    Endpoint("trust", "PUT", lambda w: "/api/accounts/trust", True, True, ("GET", "PUT")),
    Endpoint("recover_begin", "POST", lambda w: "/api/accounts/recover/begin", False, False, ("POST",)),
    Endpoint("recover_finish", "POST", lambda w: "/api/accounts/recover/finish", False, False, ("POST",)),
    Endpoint("keys_by_ids", "GET", lambda w: f"/api/keys?ids={w.alice.pk}", True, True, ("GET",)),
    Endpoint("keys", "GET", lambda w: "/api/keys/bob", True, True, ("GET",)),
    Endpoint("key_history", "GET", lambda w: f"/api/key-history?id={w.alice.pk}", True, True, ("GET",)),
    Endpoint("rooms", "GET", lambda w: "/api/rooms", True, True, ("GET",)),
    Endpoint("room", "GET", lambda w: f"/api/rooms/{w.own_room.id}", True, True, ("GET",)),
    Endpoint("roster", "POST", lambda w: f"/api/rooms/{w.own_room.id}/roster", True, True, ("GET", "POST")),
    Endpoint("roster_page", "GET", lambda w: f"/api/rooms/{w.own_room.id}/roster?from=1", True, True, ("GET", "POST")),
    Endpoint("link", "GET", lambda w: f"/api/links/{link_address(w.foreign_chain)}", True, True, ("GET",)),
    Endpoint("leave", "POST", lambda w: f"/api/rooms/{w.legacy_room.id}/leave", True, True, ("POST",)),
    Endpoint("join", "POST", lambda w: f"/api/join/{w.legacy_room.invite_token}", True, True, ("POST",)),
]
BY_NAME = {endpoint.name: endpoint for endpoint in ENDPOINTS}
WITH_BODY = [
    name
    for name in BY_NAME
    if name
    in {
        "signup",
        "prelogin",
        "login",
        "password",
        "reset",
        "trust",
        "recover_begin",
        "recover_finish",
        "roster",
    }
]


def link_address(chain: Chain) -> str:
    assert chain.link_secret is not None
    return ref.link_address(chain.link_secret)


# --- one request, and what must hold of its answer -----------------------------------


@contextmanager
def fresh_example() -> Iterator[None]:
    """Throttle counters of their own, and every write undone afterwards."""
    caches = {
        name: {**config, "KEY_PREFIX": f"hardening-{uuid.uuid4().hex}"}
        for name, config in django_settings.CACHES.items()
    }
    with override_settings(CACHES=caches), transaction.atomic():
        yield
        transaction.set_rollback(True)


def client_for(world: World, *, signed_in: bool) -> Client:
    """A browser with the CSRF cookie, and alice's session if ``signed_in``; no other cookie.

    One client serves a whole test: each new one builds the middleware again, WhiteNoise's scan of every
    static file included, which cost more than the request itself.
    """
    client = world.client
    client.cookies = SimpleCookie()
    client.cookies["csrftoken"] = CSRF_TOKEN
    if signed_in:
        client.cookies[django_settings.SESSION_COOKIE_NAME] = world.session
    return client


def send(
    client: Client,
    method: str,
    path: str,
    body: bytes = b"",
    *,
    csrf: bool = True,
    user_agent: str = "hardening tests",
    **extra: Any,
) -> Any:
    headers = {"User-Agent": user_agent}
    if csrf:
        headers["X-CSRFToken"] = CSRF_TOKEN
    return client.generic(method, path, body, content_type="application/json", headers=headers, **extra)


def error_code(response: Any) -> str:
    assert response["Content-Type"] == "application/json", (response.status_code, response.content[:300])
    error = json.loads(response.content)["error"]
    assert isinstance(error["detail"], str)
    assert error["code"] in ERROR_CODES, error
    return error["code"]


def check_answer(response: Any, before: dict[str, tuple[int, str]], label: str) -> None:
    """Never a server error; a refusal is coded JSON with the code's own status, and wrote no user data.

    A view that raises makes the test client re-raise (a 500 in production), so hypothesis shows the traceback.
    """
    status = response.status_code
    if status >= 500:
        assert status == 503 and error_code(response) == ErrorCode.UNAVAILABLE, (label, status, response.content)
    if status >= 400:
        code = error_code(response)
        assert HTTP_STATUS.get(ErrorCode(code), 400) == status, (label, code, status)
        assert snapshot() == before, f"{label}: refused with {code} but user data changed"
    elif status != 204:
        assert response["Content-Type"] == "application/json", (label, status)
        json.loads(response.content)


def exchange(world: World, endpoint: Endpoint, body: bytes, label: str, **options: Any) -> Any:
    with fresh_example():
        client = client_for(world, signed_in=options.pop("signed_in", endpoint.signed_in))
        path = options.pop("path", None) or endpoint.path(world)
        method = options.pop("method", endpoint.method)
        # Every example starts from the same rows (the last one's writes were rolled back): no query needed.
        response = send(client, method, path, body, **options)
        check_answer(response, world.baseline, label)
        return response


# --- the properties ----------------------------------------------------------------


def test_the_valid_bodies_are_accepted(world: World) -> None:
    """The base every mutation starts from is accepted as it is: otherwise the mutations test nothing."""
    for name in WITH_BODY:
        endpoint = BY_NAME[name]
        response = exchange(world, endpoint, json.dumps(world.bodies[name]).encode(), name)
        assert response.status_code in {200, 201}, (name, response.content)
    for endpoint in ENDPOINTS:
        if endpoint.name not in WITH_BODY:
            response = exchange(world, endpoint, b"", endpoint.name)
            assert response.status_code in {200, 204}, (endpoint.name, response.content)


@pytest.mark.parametrize("name", WITH_BODY)
@examples(60)
@given(data=st.data())
def test_one_broken_field_gets_a_coded_answer_and_a_refusal_writes_nothing(world: World, name: str, data: Any) -> None:
    label, body = data.draw(mutated(world.bodies[name]), label="mutation")
    user_agent = data.draw(st.sampled_from(["hardening tests", *NASTY_TEXT[:8]]), label="user agent")
    exchange(world, BY_NAME[name], json.dumps(body).encode(), f"{name}: {label}", user_agent=user_agent)


@pytest.mark.parametrize("name", WITH_BODY)
@examples(20)
@given(body=raw_bodies(), content_length=st.sampled_from([None, None, None, "", "abc", "-1", "1e3", "99999999"]))
def test_a_body_that_is_not_one_json_object_is_refused(
    world: World, name: str, body: bytes, content_length: str | None
) -> None:
    extra = {} if content_length is None else {"CONTENT_LENGTH": content_length}
    response = exchange(world, BY_NAME[name], body, f"{name}: raw body", **extra)
    if content_length is None and not body.strip().startswith(b"{"):
        assert response.status_code >= 400


# Path parts of every kind: real ones, ones of other people, unknown ones, and junk (no "/": that is another URL).
def path_parts(world: World) -> st.SearchStrategy[str]:
    real = [
        str(world.own_room.id),
        str(world.foreign_room.id),
        str(world.direct_room.id),
        str(world.own_room.id).upper(),
        str(uuid.uuid4()),
        str(world.own_room.id).replace("-", ""),
        world.legacy_room.invite_token,
        link_address(world.own_chain),
        link_address(world.foreign_chain),
        link_address(world.own_chain).upper(),
        "alice",
        "bob",
        "carol",
        "BOB",
        "nobody",
    ]
    return st.one_of(st.sampled_from(real), texts()).filter(url_segment)


def url_segment(part: str) -> bool:
    """Text that can be one segment of a URL path: not empty, no "/", and UTF-8 (no unpaired surrogate)."""
    try:
        part.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return bool(part) and "/" not in part


ROOM_PATHS = {
    "room": ("GET", "/api/rooms/{room}"),
    "roster": ("POST", "/api/rooms/{room}/roster"),
    "roster_page": ("GET", "/api/rooms/{room}/roster?from={username}"),
    "leave": ("POST", "/api/rooms/{room}/leave"),
    "link": ("GET", "/api/links/{token}"),
    "join": ("POST", "/api/join/{token}"),
    "keys": ("GET", "/api/keys/{username}"),
    "key_history": ("GET", "/api/key-history?id={username}"),
}


@pytest.mark.parametrize("name", list(ROOM_PATHS))
@examples(30)
@given(data=st.data())
def test_unknown_and_malformed_path_parts_get_a_coded_answer_never_an_error(world: World, name: str, data: Any) -> None:
    method, template = ROOM_PATHS[name]
    parts = {key: data.draw(path_parts(world), label=key) for key in ("room", "username", "token")}
    path = template.format(**{key: quote(value, safe="") for key, value in parts.items()})
    body = json.dumps(world.bodies.get(name, {})).encode()
    exchange(world, BY_NAME[name], body, f"{name}: {parts}", path=path, method=method)


@examples(50)
@given(ids=st.lists(st.one_of(st.integers(-5, 10**20).map(str), texts().filter(url_segment)), max_size=6).map(",".join))
def test_malformed_key_lookups_are_refused(world: World, ids: str) -> None:
    exchange(world, BY_NAME["keys_by_ids"], b"", f"ids={ids!r}", path=f"/api/keys?ids={quote(ids, safe=',')}")


def test_every_other_method_is_refused(world: World) -> None:
    for endpoint in ENDPOINTS:
        for method in METHODS:
            if method not in endpoint.methods:
                response = exchange(world, endpoint, b"{}", f"{endpoint.name} {method}", method=method)
                assert (response.status_code, error_code(response)) == (405, "method_not_allowed")


def test_anonymous_requests_to_signed_in_endpoints_are_refused(world: World) -> None:
    for endpoint in ENDPOINTS:
        body = json.dumps(world.bodies.get(endpoint.name, {})).encode()
        response = exchange(world, endpoint, body, f"{endpoint.name} anonymous", signed_in=False)
        if endpoint.login_required:
            assert (response.status_code, error_code(response)) == (401, "not_authenticated"), endpoint.name


def test_writes_without_the_csrf_token_are_refused(world: World) -> None:
    for endpoint in ENDPOINTS:
        if endpoint.method != "GET":
            body = json.dumps(world.bodies.get(endpoint.name, {})).encode()
            response = exchange(world, endpoint, body, f"{endpoint.name} without CSRF", csrf=False)
            assert (response.status_code, error_code(response)) == (403, "csrf_failed"), endpoint.name
