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


# --- guards on a secret: failures counted where a stranger cannot aim them -------------------------------------


@dataclass(frozen=True)
class Guard:
    """How failed proofs of one secret (a password, a recovery key) are counted, so that strangers cannot aim them.

    - ``pair``: per account *and* address, the guesser's own allowance: over it, that address is refused for that
      account. It is the only count that can refuse an address the account signed in from.
    - ``address``: per address across accounts (None: not counted): over it, the address is refused for every
      account that has not signed in from it.
    - ``account``: per account across addresses; over it the account is *guarded*: an address it has not signed in
      from has ``guarded_attempts`` per ``pair`` window instead of ``pair.attempts`` (and is told ``account``'s
      message). Guessing from many addresses slows down; the owner, from an address she signed in from, is never
      refused by it.

    Every attempt is counted before the secret is checked (so concurrent guesses count too); one that turns out
    right is taken back from the address and account counts, and clears its pair.
    """

    pair: Limit
    address: Limit | None
    account: Limit
    guarded_attempts: int


# How long an address stays one the account signed in from, without another sign-in from it.
FAMILIAR_SECONDS = 90 * 24 * 60 * 60


def _pair(account: str, address: str) -> str:
    return f"{account}\n{address}"


def _familiar_key(account: str, address: str) -> str:
    return "throttle:familiar:" + hashlib.sha256(_pair(account, address).lower().encode()).hexdigest()[:32]


def remember(account: str, address: str) -> None:
    """``account`` signed in from ``address`` (a right password, a sign-up, a recovery)."""
    cache.set(_familiar_key(account, address), 1, timeout=FAMILIAR_SECONDS)


def is_familiar(account: str, address: str) -> bool:
    return cache.get(_familiar_key(account, address)) is not None


def _count(limit: Limit, subject: str) -> int:
    """Count one attempt and return the window's count so far (the window starts with its first attempt)."""
    count_key, start_key = _keys(limit, subject)
    try:
        return cache.incr(count_key)
    except ValueError:  # no window yet (or it just expired)
        if cache.add(count_key, 1, timeout=limit.window_seconds):
            cache.set(start_key, time.time(), timeout=limit.window_seconds)
            return 1
        return cache.incr(count_key)  # another worker started the window meanwhile


def _uncount(limit: Limit, subject: str) -> None:
    try:
        cache.decr(_keys(limit, subject)[0])
    except ValueError:  # the window ended meanwhile
        pass


def _refusal(limit: Limit, subject: str, message: str | None = None) -> ApiError:
    started = cache.get(_keys(limit, subject)[1], time.time())
    shown = limit if message is None else Limit(limit.name, limit.attempts, limit.window_seconds, message)
    return _rate_limited(shown, math.ceil(started + limit.window_seconds - time.time()))


def attempt(guard: Guard, account: str, address: str) -> None:
    """Count an attempt at ``account``'s secret from ``address``, before it is checked; raise ``rate_limited`` if
    the guard refuses it (see ``Guard``)."""
    pair = _pair(account, address)
    pair_count = _count(guard.pair, pair)
    over_address = guard.address is not None and _count(guard.address, address) > guard.address.attempts
    guarded = _count(guard.account, account) > guard.account.attempts
    if pair_count > guard.pair.attempts:
        raise _refusal(guard.pair, pair)
    if not (over_address or (guarded and pair_count > guard.guarded_attempts)) or is_familiar(account, address):
        return
    if over_address:
        raise _refusal(guard.address, address)
    raise _refusal(guard.pair, pair, guard.account.message)


def succeeded(guard: Guard, account: str, address: str) -> None:
    """The secret was right: clear the pair, take the attempt back from the wider counts, remember the address."""
    clear(guard.pair, _pair(account, address))
    if guard.address is not None:
        _uncount(guard.address, address)
    _uncount(guard.account, account)
    remember(account, address)


def forget_failures(guard: Guard, account: str, address: str) -> None:
    """Clear the pair's failures (another secret of the account was proven from this address)."""
    clear(guard.pair, _pair(account, address))
