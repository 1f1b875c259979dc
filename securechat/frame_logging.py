"""Autobahn (daphne's WebSocket protocol) formats a debug log line for every frame it writes, logged or not.

``WebSocketProtocol.sendData`` calls ``hltype`` and ``hlval`` to colour the arguments of a ``log.debug`` that is
dropped unless debug logging is on: 1.5 µs per frame, 4.4 µs once ``click`` is installed (it then styles the text
with terminal colours; ``make bench-paths``). A chat message goes out once per member: in a room of 50, 50 times per
message (docs/PERFORMANCE.md). Here the protocol module's two helpers become plain formatters: the same text,
uncoloured, for 0.4 µs. Only ``autobahn.websocket.protocol``'s own names are replaced.
"""

from __future__ import annotations

from typing import Any

from autobahn.websocket import protocol


def plain_type(obj: Any) -> str:
    return f"<{getattr(obj, '__qualname__', type(obj).__qualname__)}>"


def plain_value(value: Any, color: str | None = None, bold: bool | None = None) -> str:
    return f"{value}"


def install() -> None:
    protocol.hltype = plain_type
    protocol.hlval = plain_value
