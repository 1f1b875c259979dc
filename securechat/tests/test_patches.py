"""The patches of Twisted and autobahn refuse to start on a library that no longer has what they rely on."""

from __future__ import annotations

from typing import Any

import pytest
from autobahn.twisted import websocket as twisted_websocket
from autobahn.websocket import protocol
from daphne.ws_protocol import WebSocketProtocol
from twisted.internet import abstract, tcp

from securechat import patches
from securechat.patches.frame_logging import HELPERS, MODULES


def test_the_installed_libraries_have_every_name_the_patches_rely_on() -> None:
    for patch in patches.PATCHES:
        patch.check()


@pytest.mark.parametrize(
    ("owner", "name"),
    [
        (abstract.FileDescriptor, "_writeDisconnected"),
        (abstract.FileDescriptor, "dataBuffer"),
        (abstract, "_dataMustBeBytes"),
        (twisted_websocket, "hlval"),
        (protocol, "hltype"),
        (protocol.WebSocketProtocol, "sendClose"),
        (protocol.WebSocketProtocol, "STATE_OPEN"),
    ],
)
def test_an_upgrade_that_drops_a_private_name_stops_start_up_and_changes_nothing(monkeypatch, owner, name) -> None:
    write, send_pong = tcp.Connection.write, WebSocketProtocol.sendPong
    helpers = {(module, helper): getattr(module, helper) for module in MODULES for helper in HELPERS}
    monkeypatch.delattr(owner, name)

    with pytest.raises(patches.PatchOutdated, match=name):
        patches.install()

    assert tcp.Connection.write is write
    assert WebSocketProtocol.sendPong is send_pong
    for (module, helper), before in helpers.items():
        if (module, helper) != (owner, name):
            assert getattr(module, helper) is before


def test_a_connection_that_no_longer_sets_its_temporary_buffer_stops_start_up(monkeypatch) -> None:
    def init_without_temp_buffer(self, reactor=None) -> None:
        self.reactor = reactor

    monkeypatch.setattr(abstract.FileDescriptor, "__init__", init_without_temp_buffer)

    with pytest.raises(patches.PatchOutdated, match="_tempDataBuffer"):
        patches.install()


def answer_pings_some_other_way(self: Any, payload: bytes) -> None:
    self.sendFrame(opcode=10, payload=payload)


@pytest.mark.parametrize(
    ("owner", "method", "replacement", "name"),
    [
        (protocol.WebSocketProtocol, "onPing", answer_pings_some_other_way, "sendPong"),
        (twisted_websocket.WebSocketAdapterProtocol, "_onPing", answer_pings_some_other_way, "onPing"),
        (protocol.WebSocketProtocol, "processControlFrame", lambda self: True, "_onPing"),
    ],
)
def test_an_upgrade_that_answers_pings_without_the_pong_the_bound_replaces_stops_start_up(
    monkeypatch, owner, method, replacement, name
) -> None:
    """Pongs keep to the unsent-output bound only while every ping is answered through ``sendPong``."""
    monkeypatch.setattr(owner, method, replacement)

    with pytest.raises(patches.PatchOutdated, match=name):
        patches.install()


def test_a_daphne_with_its_own_pong_stops_start_up(monkeypatch) -> None:
    monkeypatch.setattr(WebSocketProtocol, "sendPong", answer_pings_some_other_way)

    with pytest.raises(patches.PatchOutdated, match="sendPong of its own"):
        patches.install()
