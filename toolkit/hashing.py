"""Password hashing in a small pool of threads of its own, at a lower CPU priority than the chat.

Django serves each HTTP request on a thread of its own (one ``ThreadSensitiveContext`` per request), so hashing
where the request runs meant as many Argon2 hashes at once as requests asked for: each ~100 MiB and up to 8 busy
threads (``settings.PASSWORD_HASHERS``), together taking every core from the chat's event loop and database thread.
Here at most ``PASSWORD_HASH_THREADS`` hashes run at once in a process (the others wait their turn, their requests'
threads blocked, not working), and the pool's threads, with the Argon2 lanes they start, run
``PASSWORD_HASH_NICE`` steps nicer than the process, so the chat's threads get the CPU first.

The queue is bounded too: past ``PASSWORD_HASH_QUEUE_MAX`` hashes running or waiting in a process, a request that
would hash is refused at once (``unavailable``, 503 with ``Retry-After``) instead of holding a thread and its
memory for as long as the queue takes; it hashed nothing and wrote nothing, so trying again is safe.

Every hash of the app goes through here: ``accounts.models.User`` hashes and checks its password with these.
Callers block until their hash is done; hash before a transaction, never inside one (a lock held while waiting for
the pool would hold up everyone who needs that row).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth.hashers import make_password, verify_password

from toolkit.errors import ApiError, ErrorCode

# Seconds a refused request is told to wait: about how long a queue's worth of hashes takes.
BUSY_RETRY_SECONDS = 2
T = TypeVar("T")

_lock = threading.Lock()
_pool: tuple[tuple[int, int], ThreadPoolExecutor] | None = None
_queued_lock = threading.Lock()
_queued = 0  # hashes running or waiting in this process


def _executor() -> ThreadPoolExecutor:
    """The pool, made at first use (and again if the settings changed, as tests change them)."""
    global _pool
    shape = (max(1, settings.PASSWORD_HASH_THREADS), settings.PASSWORD_HASH_NICE)
    with _lock:
        if _pool is None or _pool[0] != shape:
            if _pool is not None:
                _pool[1].shutdown(wait=False)
            executor = ThreadPoolExecutor(
                max_workers=shape[0],
                thread_name_prefix="password-hash",
                initializer=_lower_priority,
                initargs=(shape[1],),
            )
            _pool = (shape, executor)
        return _pool[1]


def _lower_priority(steps: int) -> None:
    """Make this thread ``steps`` nicer. On Linux the nice value is per thread and the threads it starts (Argon2's
    lanes) inherit it; where that fails, the pool still bounds how many hashes run at once."""
    if steps <= 0 or not hasattr(os, "setpriority"):
        return
    thread = threading.get_native_id()
    try:
        os.setpriority(os.PRIO_PROCESS, thread, min(19, os.getpriority(os.PRIO_PROCESS, thread) + steps))
    except OSError:
        pass


def _hash(work: Callable[..., T], *args: Any) -> T:
    """Run ``work`` in the pool and wait for it, or refuse at once if the queue is full."""
    global _queued
    with _queued_lock:
        if _queued >= max(1, settings.PASSWORD_HASH_QUEUE_MAX):
            raise ApiError(
                ErrorCode.UNAVAILABLE,
                "The server is busy checking passwords; try again in a few seconds.",
                retry_after=BUSY_RETRY_SECONDS,
            )
        _queued += 1
    try:
        return _executor().submit(work, *args).result()
    finally:
        with _queued_lock:
            _queued -= 1


def make(secret: str | None) -> str:
    """The stored form of ``secret`` (Django's ``make_password``; None gives an unusable one, without hashing)."""
    if secret is None:
        return make_password(None)
    return _hash(make_password, secret)


@dataclass(frozen=True)
class Verified:
    ok: bool
    # Right, but stored with other hasher settings than today's: store a new hash.
    stale: bool


def verify(secret: str, encoded: str | None) -> Verified:
    """Whether ``secret`` matches ``encoded``. None or an unusable hash is no match, after as much work as a real
    check, so an account that does not exist takes as long (Django's ``verify_password``)."""
    ok, stale = _hash(verify_password, secret, encoded or "")
    return Verified(ok, ok and stale)
