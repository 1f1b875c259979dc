"""Every replacement of a third-party library's behaviour, switched on in one place: ``install()``, which
``securechat.asgi`` calls before serving.

Each patch relies on private names of the library it changes. Before installing anything, each checks that those
names are still there and raises ``PatchOutdated`` naming what is gone, so an upgrade of Twisted or autobahn that
moves them stops the server at start-up instead of silently changing how it sends.
"""

from __future__ import annotations

from securechat.patches import frame_logging, prompt_writes, socket_output
from securechat.patches.checks import PatchOutdated

PATCHES = (frame_logging, prompt_writes, socket_output)

__all__ = ["PATCHES", "PatchOutdated", "install"]


def install() -> None:
    for patch in PATCHES:
        patch.check()  # every check before any install: a failed start-up leaves the libraries as they were
    for patch in PATCHES:
        patch.install()
