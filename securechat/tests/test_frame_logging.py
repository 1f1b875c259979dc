"""Daphne's WebSocket frames go out without formatting a debug line each (securechat.frame_logging)."""

from autobahn.websocket import protocol


def test_the_served_application_writes_frames_without_colouring_log_arguments() -> None:
    import securechat.asgi  # noqa: F401  (what daphne loads)

    assert protocol.hltype(protocol.WebSocketProtocol.sendData) == "<WebSocketProtocol.sendData>"
    assert protocol.hlval("tcp4:127.0.0.1:5555") == "tcp4:127.0.0.1:5555"  # no terminal colour codes
