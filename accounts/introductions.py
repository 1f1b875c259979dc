"""Who has named whom. Looking someone up by their exact name (throttled, ``accounts.views.public_keys``) introduces
the asker to that account for a while: only then, or once they share a room, may the asker name it in a room by id.
Without this, a room's ``add`` would be a directory by id with no throttle: add any id and read the answer.

Kept in the cache (Redis on the full stack), not the database: it is a short-lived permission, and losing it costs
one more lookup.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.core.cache import cache


def _key(asker_id: int, user_id: int) -> str:
    return f"introduced:{asker_id}:{user_id}"


def introduce(asker_id: int, user_id: int) -> None:
    cache.set(_key(asker_id, user_id), 1, settings.INTRODUCTION_SECONDS)


def introduced(asker_id: int, user_ids: Iterable[int]) -> set[int]:
    """Of ``user_ids``, those the asker looked up by name lately."""
    wanted = {user_id: _key(asker_id, user_id) for user_id in set(user_ids)}
    found = cache.get_many(list(wanted.values()))
    return {user_id for user_id, key in wanted.items() if key in found}
