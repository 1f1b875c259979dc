import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import channel_layers

from accounts.models import User
from chat.models import Room
from chat.tests.factories import make_user
from chat.tests.rosters import Chain, make_room
from chat.tests.sockets import (  # noqa: F401 (the chat tests import them from here)
    close_code,
    next_envelope,
    next_of,
    none_of,
    socket_on,
)


@pytest.fixture(autouse=True)
def isolated_counters(settings: Any) -> None:
    """Each test has its own rate-limit counters and presence keys, even on the shared Redis."""
    settings.CACHES = {name: {**config, "KEY_PREFIX": uuid.uuid4().hex} for name, config in settings.CACHES.items()}
    settings.REDIS_KEY_PREFIX = uuid.uuid4().hex
    # Chat tests do not test password hashing (accounts tests do, with Argon2); making users is 50x faster.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def fresh_channel_layer() -> Iterator[None]:
    """A channel layer per test: each async test has its own event loop, and the Redis layer's receive lock
    belongs to the loop that made it (a shared layer failed now and then with "bound to a different loop")."""
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture
def users(transactional_db: None) -> dict[str, User]:
    return {name: make_user(name) for name in ("alice", "bob", "carol")}


@pytest.fixture
def room_and_chain(users: dict[str, User]) -> tuple[Room, Chain]:
    """alice's room with bob in it, signed (alice's create, her add of bob); carol is not a member."""
    return make_room(users["alice"], users["bob"])


@pytest.fixture
def room(room_and_chain: tuple[Room, Chain]) -> Room:
    return room_and_chain[0]


@pytest.fixture
def chain(room_and_chain: tuple[Room, Chain]) -> Chain:
    """The room's roster, to append to as its members' browsers would."""
    return room_and_chain[1]


add = database_sync_to_async
