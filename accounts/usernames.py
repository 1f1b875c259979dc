"""Names that read alike are one name: the keys under which a username is unique.

Two usernames collide when they are the same under case folding, or when they would be read as one another: ``aIice``
(capital i) beside ``alice``, ``0tto`` beside ``Otto``, ``rnary`` beside ``mary``. The look-alikes come from Unicode's
confusables data (UTS #39), as the ``confusable_homoglyphs`` library ships it: each character belongs to the class of
characters that look like it, and a name's skeleton writes each character as its class's one representative.
Case folding and skeletons do not commute (``I`` looks like ``l`` but folds to ``i``; ``0`` looks like ``O``, not
``o``), so a name has three keys: the skeleton of the folded name, and the folded skeletons of the name as written
and in capitals. Two names collide when any of their keys meet.
"""

from __future__ import annotations

import functools
import unicodedata
from typing import Any

from confusable_homoglyphs.confusables import confusables_data

from accounts.models import User, UsernameKey


def claim_keys(sender: type[User], *, instance: User, created: bool, raw: bool = False, **kwargs: Any) -> None:
    """A new user takes their name's keys (``post_save``): a look-alike of a taken name fails with IntegrityError,
    inside the transaction that creates the user, whoever creates it (sign-up, ``createsuperuser``)."""
    if created and not raw:
        keys = lookalike_keys(instance.username)
        UsernameKey.objects.bulk_create([UsernameKey(key=key, user=instance) for key in keys])


# Letter pairs that read as one letter in the chat's sans-serif font and that the confusables data (which has ``rn``
# for ``m``) does not list: the only look-alikes written here, and only for the characters a username may hold.
LETTER_PAIRS = {"w": "vv", "d": "cl"}


def lookalike_keys(username: str) -> set[str]:
    """The keys that no other username may share with this one."""
    return {
        skeleton(username.casefold()),
        skeleton(username).casefold(),
        skeleton(username.upper()).casefold(),  # ``0tto`` reads like ``OTTO``, which is ``otto``
    }


def skeleton(text: str) -> str:
    representative = _representatives()
    return "".join(representative.get(char, char) for char in unicodedata.normalize("NFD", text))


@functools.cache
def _representatives() -> dict[str, str]:
    """Each confusable character's class representative: the class's longest member (``m`` is written ``rn``, so
    the two-letter look-alike is caught), then its smallest, so the choice never depends on the data's order."""
    parent: dict[str, str] = {}

    def find(item: str) -> str:
        while parent.setdefault(item, item) != item:
            parent[item] = parent[parent[item]]
            item = parent[item]
        return item

    for char, lookalikes in confusables_data.items():
        for lookalike in lookalikes:
            parent[find(_visible(char))] = find(_visible(lookalike["c"]))
    for char, lookalike in LETTER_PAIRS.items():
        parent[find(char)] = find(lookalike)
    classes: dict[str, list[str]] = {}
    for item in parent:
        classes.setdefault(find(item), []).append(item)
    chosen = {root: min(members, key=lambda member: (-len(member), member)) for root, members in classes.items()}
    single = {item: chosen[find(item)] for item in parent if len(item) == 1}
    # A representative of several letters is written in representatives too (``d`` is ``cl``, and ``l`` is ``1``).
    return {item: "".join(single.get(c, c) for c in rep) if len(rep) > 1 else rep for item, rep in single.items()}


def _visible(text: str) -> str:
    """The data wraps right-to-left characters in direction marks, for display: they are not part of the character."""
    return text.replace("\u200e", "").replace("\u200f", "")
