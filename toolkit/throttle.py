"""Fixed-window attempt counters in the shared cache (Redis when REDIS_URL is set), so every worker agrees."""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass
from typing import Any

from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches

from toolkit.errors import ApiError, ErrorCode
from toolkit.redis_clients import async_redis


@dataclass(frozen=True)
class Limit:
    name: str
    attempts: int
    window_seconds: int
    message: str


LOGIN_PER_USERNAME = Limit("login-user", 5, 15 * 60, "Too many failed log-in attempts for this account.")
LOGIN_PER_ADDRESS = Limit("login-addr", 30, 15 * 60, "Too many failed log-in attempts from your address.")
RECOVERY_PER_USERNAME = Limit("recover-user", 5, 60 * 60, "Too many failed recovery attempts for this account.")
PRELOGIN_PER_ADDRESS = Limit("prelogin-addr", 120, 60, "Too many log-in attempts from your address.")


def _keys(limit: Limit, subject: str) -> tuple[str, str]:
    digest = hashlib.sha256(subject.lower().encode()).hexdigest()[:32]
    base = f"throttle:{limit.name}:{digest}"
    return f"{base}:count", f"{base}:start"


def refusal(limit: Limit, subject: str) -> ApiError | None:
    """The ``rate_limited`` error (with ``retry_after`` seconds) if ``subject`` used up its attempts, else None."""
    count_key, start_key = _keys(limit, subject)
    values = cache.get_many([count_key, start_key])
    if values.get(count_key, 0) < limit.attempts:
        return None
    started = values.get(start_key, time.time())
    return _rate_limited(limit, math.ceil(started + limit.window_seconds - time.time()))


def _rate_limited(limit: Limit, retry_after: int) -> ApiError:
    retry_after = max(1, retry_after)
    minutes = math.ceil(retry_after / 60)
    return ApiError(
        ErrorCode.RATE_LIMITED,
        f"{limit.message} Try again in {minutes} minute{'s' if minutes != 1 else ''}.",
        retry_after=retry_after,
    )


def check(limit: Limit, subject: str) -> None:
    """Raise ``rate_limited`` if ``subject`` used up its attempts."""
    error = refusal(limit, subject)
    if error is not None:
        raise error


def hit(limit: Limit, subject: str) -> None:
    """Count one attempt; the window starts with the first."""
    count_key, start_key = _keys(limit, subject)
    if cache.add(count_key, 1, timeout=limit.window_seconds):
        cache.set(start_key, time.time(), timeout=limit.window_seconds)
        return
    try:
        cache.incr(count_key)
    except ValueError:  # expired between add and incr
        cache.add(count_key, 1, timeout=limit.window_seconds)


def check_and_hit(limit: Limit, subject: str) -> None:
    """Count this attempt and refuse it if it is over the limit: one Redis round trip while under it."""
    if hit_many(limit, subject, 1) == 0:
        check(limit, subject)


def hit_many(limit: Limit, subject: str, attempts: int) -> int:
    """Count ``attempts`` more and return how many of them are within the limit (the first ones are).

    One Redis round trip while under the limit; the refused ones get ``refusal(limit, subject)``.
    """
    count_key, _ = _keys(limit, subject)
    try:
        count = cache.incr(count_key, attempts)
    except ValueError:  # no window yet (or it just expired)
        hit(limit, subject)
        count = cache.incr(count_key, attempts - 1) if attempts > 1 else 1
    return max(0, min(attempts, limit.attempts - (count - attempts)))


@dataclass(frozen=True)
class Counted:
    """Of the attempts just counted, how many are within the limit; the error for the others."""

    allowed: int
    refusal: ApiError | None


async def hit_each(limit: Limit, attempts: dict[str, int]) -> dict[str, Counted]:
    """Count attempts for several subjects at once: on Redis, one script call for all of them, on the event loop."""
    client = async_redis()
    if client is None:  # the embedded cache is in this process: nothing to wait for
        return {subject: _counted_in_cache(limit, subject, count) for subject, count in attempts.items()}
    script = client.register_script(_HIT_EACH)
    return _counted(limit, attempts, await script(*_script_keys_and_args(limit, attempts)))


# ``hit_each`` in one command, atomic like the rest of Redis's scripts: for each subject, count the attempts, start
# the window with its first attempt (the counter never outlives its window), and read the window's seconds left.
# KEYS: count and start key of each subject in turn; ARGV: window seconds, now, then each subject's attempts.
_HIT_EACH = """
local replies = {}
for i = 1, #KEYS / 2 do
  local count_key, start_key = KEYS[2 * i - 1], KEYS[2 * i]
  replies[2 * i - 1] = redis.call('INCRBY', count_key, ARGV[2 + i])
  redis.call('EXPIRE', count_key, ARGV[1], 'NX')
  redis.call('SET', start_key, ARGV[2], 'EX', ARGV[1], 'NX')
  replies[2 * i] = redis.call('TTL', count_key)
end
return replies
"""


def _script_keys_and_args(limit: Limit, attempts: dict[str, int]) -> tuple[list[str], list[int]]:
    default = caches[DEFAULT_CACHE_ALIAS]  # once: each use of the ``cache`` proxy looks it up again
    keys = [default.make_key(key) for subject in attempts for key in _keys(limit, subject)]
    return keys, [limit.window_seconds, int(time.time()), *attempts.values()]


def _counted(limit: Limit, attempts: dict[str, int], replies: list[Any]) -> dict[str, Counted]:
    counted = {}
    for index, (subject, count) in enumerate(attempts.items()):
        total, ttl = replies[2 * index], replies[2 * index + 1]
        allowed = max(0, min(count, limit.attempts - (total - count)))
        counted[subject] = Counted(allowed, _rate_limited(limit, ttl) if allowed < count else None)
    return counted


def _counted_in_cache(limit: Limit, subject: str, count: int) -> Counted:
    allowed = hit_many(limit, subject, count)
    return Counted(allowed, refusal(limit, subject) if allowed < count else None)


def clear(limit: Limit, subject: str) -> None:
    cache.delete_many(list(_keys(limit, subject)))
