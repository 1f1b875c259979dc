"""One object per running event loop: a connection or a queue belongs to the loop that made it."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class PerLoop(Generic[T]):
    """``get()`` gives the running loop's object, made by ``make`` on first use (and again if ``current`` says the
    one it has no longer fits, e.g. the settings it was made from changed); a loop's object goes with the loop."""

    def __init__(self, make: Callable[[], T], current: Callable[[T], bool] = lambda _: True) -> None:
        self._make = make
        self._current = current
        self._objects: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, T] = weakref.WeakKeyDictionary()

    def get(self) -> T:
        loop = asyncio.get_running_loop()
        made = self._objects.get(loop)
        if made is None or not self._current(made):
            made = self._objects[loop] = self._make()
        return made
