"""Signed-in test sockets on the real ASGI stack: the ``sockets`` fixture (a plugin of the root conftest, so every
test folder has it) and helpers that wait for frames."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest_asyncio
from channels.testing import WebsocketCommunicator

from accounts.models import User
from chat.tests.factories import connect


@pytest_asyncio.fixture
async def sockets() -> AsyncIterator[Callable[..., Any]]:
    """Open signed-in sockets; every one is closed at the end."""
    opened: list[WebsocketCommunicator] = []

    async def open_socket(user: User) -> WebsocketCommunicator:
        communicator = await connect(user)
        connected, _ = await communicator.connect()
        assert connected
        opened.append(communicator)
        ready = await next_of(communicator, "ready")
        communicator.ready = ready
        return communicator

    yield open_socket
    for communicator in opened:
        await communicator.disconnect()


async def socket_on(user: User, session: Any) -> WebsocketCommunicator:
    """A chat socket whose session the middleware read as ``session``: what ended it since is up to the test."""
    from chat.consumers import ChatConsumer

    communicator = WebsocketCommunicator(ChatConsumer.as_asgi(), "/ws/chat/")
    communicator.scope.update(user=user, session=session)
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def close_code(communicator: WebsocketCommunicator) -> int:
    """The code of the close the server sends this socket (frames before it are skipped)."""
    while (output := await communicator.receive_output(timeout=5))["type"] != "websocket.close":
        pass
    return output["code"]


async def next_of(communicator: WebsocketCommunicator, kind: str, wait: float = 3) -> dict[str, Any]:
    """The next frame of type ``kind``, skipping others (presence and typing arrive at any time)."""
    while True:
        frame = await communicator.receive_json_from(timeout=wait)
        if frame["type"] == kind:
            return frame


async def next_envelope(communicator: WebsocketCommunicator, wait: float = 3) -> dict[str, Any]:
    """The envelope of the next ``messages`` frame, which must carry exactly one (a lone send's commit)."""
    frame = await next_of(communicator, "messages", wait)
    [envelope] = frame["envelopes"]
    assert envelope["room"] == frame["room"]
    return envelope


async def none_of(communicator: WebsocketCommunicator, kind: str, wait: float = 0.4) -> None:
    """No frame of type ``kind`` arrives within ``wait`` seconds."""
    while not await communicator.receive_nothing(timeout=wait):
        frame = await communicator.receive_json_from()
        assert frame["type"] != kind, frame
