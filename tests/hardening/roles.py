"""The cast of the hardening tests: one room, and a user in every role towards it.

Import the fixtures you use into the test module (``from tests.hardening.roles import scene_fixture``).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.contrib.auth.models import Group
from django.test import Client

from accounts.models import AuditEvent, User
from accounts.schemas import new_account
from accounts.services import register
from accounts.tests.factories import b64, signup_body
from chat import protocol, services
from chat.models import Envelope, Membership, Room
from chat.sending import store
from chat.tests.factories import LOCAL, connect, envelope
from chat.tests.rosters import Chain, make_room, new_link
from chat.tests.sockets import next_of, none_of  # noqa: F401 (the hardening tests import them from here)
from toolkit.errors import ApiError
from toolkit.validation import Fields

# Towards the scene's room: never signed in; signed in but never a member; a member the owner removed;
# a member; the owner; an operator (is_staff and is_superuser, as `createsuperuser` makes) who is no member.
ROLES = ("anonymous", "outsider", "removed", "member", "owner", "staff")
SIGNED_IN = ROLES[1:]
# Someone outside the room the others look up, add, write to or log in as.
BYSTANDER = "dave"


def auth_key(username: str) -> bytes:
    """The auth key a browser derives from this user's password (fixed, so tests can log in)."""
    return hashlib.sha256(f"auth:{username}".encode()).digest()


def recovery_auth(username: str) -> bytes:
    return hashlib.sha256(f"recovery:{username}".encode()).digest()


def register_user(username: str, *, staff: bool = False) -> User:
    body = signup_body(username, with_auth_key=auth_key(username), recovery_auth=b64(recovery_auth(username)))
    user = register(account=new_account(Fields(body)), client=LOCAL)
    if staff:
        user.is_staff = user.is_superuser = True
        user.save(update_fields=["is_staff", "is_superuser"])
    return user


@dataclass
class Scene:
    users: dict[str, User]  # by role name, plus BYSTANDER
    room: Room  # the owner's room (joinable by link); `member` is in it, `removed` was, the others never were
    chain: Chain  # its signed roster: the owner's create and adds, and the removal
    envelope: Envelope  # sent by the owner while `removed` was still a member
    group: Group  # for the admin's group pages
    legacy: Room  # a link room from before rosters, with the owner and `member` in it (its old invite token works)

    def user(self, role: str) -> User | None:
        return self.users.get(role)

    def client(self, role: str, **kwargs: Any) -> Client:
        client = Client(**kwargs)
        user = self.user(role)
        if user is not None:
            client.force_login(user)
        return client

    def room_members(self) -> list[int]:
        return sorted(services.selectors.member_ids_by_room([self.room.id])[str(self.room.id)])


def post(sender: User, room: Room, members: list[int]) -> Envelope:
    frame = Fields({"envelope": envelope(room, sender.pk, members)})
    # Stored as the writer stores it; the scene is made within every rate.
    [posted] = store.post_envelopes([store.Post(sender, room.id, protocol.envelope(frame))], refused={})
    if isinstance(posted, ApiError):
        raise posted
    return posted.envelope


def build_scene() -> Scene:
    users = {name: register_user(name, staff=name == "staff") for name in (*SIGNED_IN, BYSTANDER)}
    owner = users["owner"]
    room, chain = make_room(owner, users["member"], users["removed"], link=True)
    sent = post(owner, room, [owner.pk, users["member"].pk, users["removed"].pk])
    chain.append(owner, "remove", member=users["removed"], link_secret=new_link())  # a removal replaces the link
    room.refresh_from_db()
    legacy = Room.objects.create(legacy_name="Old plans", owner=owner, policy=Room.Policy.LINK, invite_token="t" * 43)
    Membership.objects.bulk_create(Membership(room=legacy, user=users[name]) for name in ("owner", "member"))
    group = Group.objects.create(name="operators")
    return Scene(users=users, room=room, chain=chain, envelope=sent, group=group, legacy=legacy)


# --- fixtures -------------------------------------------------------------------------


@pytest.fixture(name="isolated_cache")
def isolated_cache_fixture(settings: Any) -> None:
    """Throttle counters and presence keys of this test only, even on a shared Redis."""
    settings.CACHES = {name: {**config, "KEY_PREFIX": uuid.uuid4().hex} for name, config in settings.CACHES.items()}
    settings.REDIS_KEY_PREFIX = uuid.uuid4().hex


@pytest.fixture(name="fast_hashing")
def fast_hashing_fixture(settings: Any) -> None:
    """Access tests do not test password hashing (test_enumeration does, with Argon2)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(name="scene")
def scene_fixture(db: None, isolated_cache: None, fast_hashing: None) -> Scene:
    return build_scene()


@pytest.fixture(name="live_scene")
def live_scene_fixture(transactional_db: None, isolated_cache: None, fast_hashing: None, fresh_layer: None) -> Scene:
    """The scene committed, for sockets (their database work runs on other threads) and other processes."""
    return build_scene()


@pytest.fixture(name="fresh_layer")
def fresh_layer_fixture() -> Iterator[None]:
    """A channel layer per test: each async test has its own event loop, and a Redis layer is bound to one."""
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


# --- sockets --------------------------------------------------------------------------


# The chat tests' socket opener (the ``sockets`` fixture is chat.tests.sockets', a plugin of the root conftest).
open_socket = connect


# --- the database as an attacker would like to change it -------------------------------


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every row the app keeps (accounts, chat, sessions, groups), to prove a refused request wrote nothing."""
    from django.apps import apps

    tables: dict[str, list[tuple[Any, ...]]] = {}
    for label in ("accounts", "chat", "sessions", "auth"):
        for model in apps.get_app_config(label).get_models():
            rows = model.objects.order_by("pk").values_list()
            tables[model._meta.label] = [tuple(bytes(v) if isinstance(v, memoryview) else v for v in r) for r in rows]
    return tables


def audit_actions() -> list[str]:
    return list(AuditEvent.objects.order_by("id").values_list("action", flat=True))


async def in_db(func: Any, *args: Any, **kwargs: Any) -> Any:
    return await database_sync_to_async(func)(*args, **kwargs)


class QuickArgon2(Argon2PasswordHasher):
    """Argon2 at a fraction of the production cost (a few ms rather than ~150): the code paths are the real
    ones, and a check that skipped the hash for an unknown name would still show as a several-fold difference."""

    time_cost = 2
    memory_cost = 16 * 1024  # KiB
    parallelism = 1
