"""Password hashes run in a bounded pool of their own threads (toolkit/hashing.py): however many requests hash at
once, no more than ``PASSWORD_HASH_THREADS`` hashes run (so at most that many times ~100 MiB of Argon2), and while they
all wait, the chat's database calls go on.

No timing here: a test hasher holds every hash until the test lets go, and notes where each ran and how many ran at
once. Speed is in ``python -m bench.hashing``.
"""

from __future__ import annotations

import asyncio
import gc
import json
import threading
import uuid
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from asgiref.sync import SyncToAsync
from channels.db import database_sync_to_async
from channels.testing import HttpCommunicator
from django.contrib.auth.hashers import MD5PasswordHasher
from django.db import connections

from accounts.models import User
from accounts.tests.factories import signup_body
from chat.tests.factories import make_user

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

CSRF = "hashingtest0token0of0thirtytwo00"  # any 32 letters and digits: Django's CSRF secret format
WAIT = 60  # seconds: only a bound on waiting for an event; a passing run never waits for it


class HeldHasher(MD5PasswordHasher):
    """Every hash waits inside the hasher until ``release`` is set; ``running`` says how many are inside now."""

    algorithm = "held_md5"
    changed: ClassVar[threading.Condition] = threading.Condition()
    release: ClassVar[threading.Event] = threading.Event()
    running: ClassVar[int] = 0
    peak: ClassVar[int] = 0
    threads: ClassVar[set[int]] = set()

    @classmethod
    def reset(cls) -> None:
        cls.release.clear()
        cls.running = cls.peak = 0
        cls.threads = set()

    def encode(self, password: str, salt: str) -> str:
        cls = type(self)
        with cls.changed:
            cls.running += 1
            cls.peak = max(cls.peak, cls.running)
            cls.threads.add(threading.get_ident())
            cls.changed.notify_all()
        try:
            cls.release.wait(WAIT)
            return super().encode(password, salt)
        finally:
            with cls.changed:
                cls.running -= 1

    @classmethod
    def wait_until_running(cls, count: int) -> bool:
        with cls.changed:
            return cls.changed.wait_for(lambda: cls.running >= count, WAIT)


async def sign_up(username: str) -> dict[str, Any]:
    """A sign-up through the ASGI application daphne serves, as a browser sends it."""
    from securechat.asgi import application

    headers = [
        (b"host", b"testserver"),
        (b"content-type", b"application/json"),
        (b"cookie", f"csrftoken={CSRF}".encode()),
        (b"x-csrftoken", CSRF.encode()),
    ]
    body = json.dumps(signup_body(username)).encode()
    return await HttpCommunicator(application, "POST", "/api/accounts/signup", body, headers).get_response(WAIT)


async def test_while_every_hashing_thread_is_held_no_more_hashes_start_and_the_chat_still_reads(
    settings: Any, sockets: Any
) -> None:
    settings.PASSWORD_HASH_THREADS = threads = 2
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    reader = await database_sync_to_async(make_user)("reader")
    settings.PASSWORD_HASHERS = ["securechat.tests.test_password_hashing.HeldHasher"]
    HeldHasher.reset()
    signups = [asyncio.create_task(sign_up(f"newcomer{index}")) for index in range(threads + 2)]
    try:
        assert await asyncio.to_thread(HeldHasher.wait_until_running, threads)
        # Every hashing thread is held, and more sign-ups want one. A chat socket opens: its session, its user and
        # its `ready` frame are read through `database_sync_to_async`, on the chat's database thread.
        socket = await sockets(reader)
        assert socket.ready["type"] == "ready"
    finally:
        HeldHasher.release.set()
    answers = await asyncio.gather(*signups)
    assert [answer["status"] for answer in answers] == [201] * len(signups)
    assert await database_sync_to_async(User.objects.filter(username__startswith="newcomer").count)() == len(signups)
    # Each sign-up hashed twice (password and recovery key), never more than `threads` at once, on `threads` threads.
    assert HeldHasher.peak == threads
    assert len(HeldHasher.threads) == threads


async def test_past_the_queues_bound_a_sign_up_is_refused_at_once_with_retry_after_and_writes_nothing(
    settings: Any,
) -> None:
    """One hash running and one waiting fill a queue of two: the next sign-ups do not join it (a flood of them would
    hold a thread and its memory each for as long as the queue takes) but are told to come back, while the two
    admitted ones finish once the hash is let go."""
    settings.PASSWORD_HASH_THREADS = 1
    settings.PASSWORD_HASH_QUEUE_MAX = 2
    settings.PASSWORD_HASHERS = ["securechat.tests.test_password_hashing.HeldHasher"]
    HeldHasher.reset()
    signups = {asyncio.create_task(sign_up(f"crowd{index}")) for index in range(4)}
    try:
        assert await asyncio.to_thread(HeldHasher.wait_until_running, 1)
        refused: set[asyncio.Task[dict[str, Any]]] = set()
        while len(refused) < 2:  # the two not admitted answer while the hash is still held
            done, _ = await asyncio.wait(signups - refused, timeout=WAIT, return_when=asyncio.FIRST_COMPLETED)
            assert done, "no sign-up was refused while the queue was full"
            refused |= done
    finally:
        HeldHasher.release.set()
    for task in refused:
        answer = task.result()
        assert answer["status"] == 503
        assert dict(answer["headers"])[b"Retry-After"] == b"2"
        assert json.loads(answer["body"])["error"]["code"] == "unavailable"
    admitted = await asyncio.gather(*(signups - refused))
    assert [answer["status"] for answer in admitted] == [201, 201]
    assert await database_sync_to_async(User.objects.filter(username__startswith="crowd").count)() == 2


@pytest.fixture(autouse=True)
def isolated_counters(settings: Any) -> None:
    """Sign-ups counted per address in this test only, even on the shared Redis."""
    settings.CACHES = {name: {**config, "KEY_PREFIX": uuid.uuid4().hex} for name, config in settings.CACHES.items()}


@pytest.fixture(autouse=True)
def no_connections_left_behind() -> Iterator[None]:
    """Requests served in-process leave database connections on threads the test does not own: Django's thread of
    each request (closed once collected with its objects) and asgiref's database thread. Closed here, so the test
    database can be dropped at the end of the run."""
    yield
    gc.collect()
    SyncToAsync.single_thread_executor.submit(connections.close_all).result()
