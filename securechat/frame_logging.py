"""Autobahn (daphne's WebSocket protocol) formats a debug log line for every frame it reads or writes, logged or not.

``WebSocketProtocol.sendData`` (every frame written) and the Twisted adapter's ``dataReceived`` (every read) call
``hltype`` and ``hlval`` to colour the arguments of a ``log.debug`` that is dropped unless debug logging is on:
1.5 µs per frame, 4.4 µs once ``click`` is installed (it then styles the text with terminal colours;
``make bench-paths``). A chat message goes out once per member: in a room of 50, 50 times per commit
(docs/PERFORMANCE.md). Here the two helpers become plain formatters: the same text, uncoloured, for 0.4 µs. Only the
names those two autobahn modules imported are replaced.
"""

from __future__ import annotations

from typing import Any

from autobahn.twisted import websocket as twisted_websocket
from autobahn.websocket import protocol


def plain_type(obj: Any) -> str:
    return f"<{getattr(obj, '__qualname__', type(obj).__qualname__)}>"


def plain_value(value: Any, color: str | None = None, bold: bool | None = None) -> str:
    return f"{value}"


def install() -> None:
    for module in (protocol, twisted_websocket):
        module.hltype = plain_type
        module.hlval = plain_value
