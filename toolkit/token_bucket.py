"""A token bucket kept in memory: for limits on one object (a socket), counted without a round trip to Redis.

A bucket holds up to ``capacity`` tokens and gains ``capacity`` of them per ``period`` seconds, evenly; each request
takes one. So ``capacity`` requests may come at once, and ``capacity`` per period on average after that.
"""

from __future__ import annotations

import time

# Read at each call, so a test can stop time.
clock = time.monotonic


class TokenBucket:
    __slots__ = ("capacity", "rate", "tokens", "updated")

    def __init__(self, capacity: int, period: float = 60.0) -> None:
        self.capacity = capacity
        self.rate = capacity / period  # tokens per second
        self.tokens = float(capacity)
        self.updated = clock()

    def take(self) -> float:
        """Take a token: 0.0 if there was one, else the seconds until there is (nothing is taken then)."""
        now = clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate if self.rate > 0 else float("inf")


class KeptBuckets:
    """Buckets kept by a key beyond the life of what uses them: a socket's allowance belongs to its session, so a
    client that reconnects after each burst finds the bucket its last socket left, not a full one. Entries idle long
    enough to have refilled are dropped once there are more than ``keep`` of them (they would be full anyway)."""

    def __init__(self, keep: int = 10_000) -> None:
        self.keep = keep
        self.kept: dict[tuple[str, str, int], TokenBucket] = {}

    def get(self, key: str, name: str, capacity: int, period: float = 60.0) -> TokenBucket:
        """The bucket ``name`` of ``key`` (a new one, or one of another capacity, starts full)."""
        if len(self.kept) > self.keep:
            now = clock()
            self.kept = {k: b for k, b in self.kept.items() if now - b.updated < b.capacity / max(b.rate, 1e-9)}
        return self.kept.setdefault((key, name, capacity), TokenBucket(capacity, period))
