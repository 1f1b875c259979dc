"""Daphne's WebSocket frames go in and out without formatting a debug line each (securechat.patches.frame_logging)."""

import pytest
from autobahn.twisted import websocket as twisted_websocket
from autobahn.websocket import protocol


@pytest.mark.parametrize("module", [protocol, twisted_websocket], ids=["writes", "reads"])
def test_the_served_application_handles_frames_without_colouring_log_arguments(module) -> None:
    import securechat.asgi  # noqa: F401  (what daphne loads)

    assert module.hltype(protocol.WebSocketProtocol.sendData) == "<WebSocketProtocol.sendData>"
    assert module.hlval("tcp4:127.0.0.1:5555") == "tcp4:127.0.0.1:5555"  # no terminal colour codes
