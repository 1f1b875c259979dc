"""What a patch checks before it replaces anything: that the private names it relies on still exist."""

from __future__ import annotations

from collections.abc import Iterable
from types import FunctionType
from typing import Any


class PatchOutdated(RuntimeError):
    """A library no longer has a name a patch relies on: the patch must be reviewed against the new version."""


def require_attributes(patch: str, owner: Any, names: Iterable[str]) -> None:
    """``owner`` (a module or a class) still has each of ``names``."""
    missing = [name for name in names if not hasattr(owner, name)]
    if missing:
        raise PatchOutdated(f"{patch}: {_name_of(owner)} has no {', '.join(missing)}; review the patch.")


def require_set_by(patch: str, function: FunctionType, names: Iterable[str]) -> None:
    """``function`` (an ``__init__``) still sets each of the instance attributes ``names``."""
    missing = [name for name in names if name not in function.__code__.co_names]
    if missing:
        raise PatchOutdated(f"{patch}: {function.__qualname__} no longer sets {', '.join(missing)}; review the patch.")


def require_calls(patch: str, function: FunctionType, names: Iterable[str]) -> None:
    """``function`` still calls (or reads) each of the attributes ``names``."""
    missing = [name for name in names if name not in function.__code__.co_names]
    if missing:
        raise PatchOutdated(f"{patch}: {function.__qualname__} no longer calls {', '.join(missing)}; review the patch.")


def _name_of(owner: Any) -> str:
    return getattr(owner, "__qualname__", None) or getattr(owner, "__name__", repr(owner))
