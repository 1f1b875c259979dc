"""Autobahn (daphne's WebSocket protocol) formats a debug log line for every frame it reads or writes, logged or not.

``WebSocketProtocol.sendData`` (every frame written) and the Twisted adapter's ``dataReceived`` (every read) call
``hltype`` and ``hlval`` to colour the arguments of a ``log.debug`` that is dropped unless debug logging is on, and
more so once ``click`` is installed (it then styles the text with terminal colours). A chat message goes out once
per member, so this runs once per member and commit. Here the two helpers become plain formatters: the same text,
uncoloured, at a fraction of the cost (docs/PERFORMANCE.md, ``make bench-paths``, "frame log" rows). Only the names
those two autobahn modules imported are replaced.
"""

from __future__ import annotations

from typing import Any

from autobahn.twisted import websocket as twisted_websocket
from autobahn.websocket import protocol

from securechat.patches.checks import require_attributes

MODULES = (protocol, twisted_websocket)
# The names those modules imported from autobahn's logging helpers, and call on every frame.
HELPERS = ("hltype", "hlval")


def plain_type(obj: Any) -> str:
    return f"<{getattr(obj, '__qualname__', type(obj).__qualname__)}>"


def plain_value(value: Any, color: str | None = None, bold: bool | None = None) -> str:
    return f"{value}"


def check() -> None:
    for module in MODULES:
        require_attributes(__name__, module, HELPERS)


def install() -> None:
    for module in MODULES:
        module.hltype = plain_type
        module.hlval = plain_value
