"""The yardstick: a bare ASGI WebSocket broadcast relay, no Django, no database, no channel layer.

Each socket joins the room named by its path (``/relay/<room>``); every text frame it sends is forwarded
as-is to every socket of that room, the sender included (as the app sends its ``message`` to the sender's
socket too). What it costs is the floor any Python ASGI relay pays per delivery: WebSocket framing and
the event loop. Served by uvicorn::

    uvicorn bench.bare_relay:app --loop asyncio --http h11 --ws websockets-sansio
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

rooms: defaultdict[str, set[Send]] = defaultdict(set)


async def _http(receive: Receive, send: Send) -> None:
    """Any HTTP request gets ``ok``: the harness polls it to know the server is up."""
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


async def _websocket(path: str, receive: Receive, send: Send) -> None:
    if (await receive())["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    peers = rooms[path]
    peers.add(send)
    try:
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            out = {"type": "websocket.send", "text": text} if text is not None else None
            if out is None:
                out = {"type": "websocket.send", "bytes": message.get("bytes") or b""}
            for peer in list(peers):
                try:
                    await peer(out)
                except OSError:  # uvicorn's ClientDisconnected: that peer went away
                    peers.discard(peer)
    finally:
        peers.discard(send)
        if not peers:
            rooms.pop(path, None)


async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if scope["type"] == "http":
        await _http(receive, send)
    elif scope["type"] == "websocket":
        await _websocket(scope["path"], receive, send)
