"""Pieces of the real stack the fault tests break on purpose, and the check every fault test ends with.

A private ``redis-server`` (never the machine's shared one), and ``assert_no_acked_message_lost_or_doubled``:
every message whose send was acknowledged is stored once, and every member's transcript shows exactly the stored
messages, each once, in the server's order.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from chat.models import Envelope
from tests.browser.chat import (
    SENT,
    Person,
    expect_texts,
    messages,
    send_message,
    transcript_texts,
    wait_until,
)
from tests.servers import free_port

REDIS_SERVER = os.environ.get("REDIS_SERVER", "/usr/bin/redis-server")
STARTUP_SECONDS = 15.0


@dataclass
class RedisServer:
    """A throw-away redis-server on its own port: nothing saved, so a restart starts empty (as after a crash)."""

    log_dir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)
    starts: int = field(default=0, init=False)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.starts += 1
        log = (self.log_dir / f"redis-{self.port}-{self.starts}.log").open("wb")
        command = [REDIS_SERVER, "--save", "", "--appendonly", "no", "--port", str(self.port), "--bind", "127.0.0.1"]
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode} (port {self.port})")
            if self.ping():
                return self
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"redis-server did not answer on port {self.port} within {STARTUP_SECONDS}s")

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"*1\r\n$4\r\nPING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL: no goodbye to its clients; their sockets see the connection reset."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.kill()


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 20.0, every: float = 0.1) -> Any:
    """Polls ``condition`` (outside the browser: processes, sockets, database rows) until it is truthy."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout}s"
        time.sleep(every)


def expect_texts_in_any_order(person: Person, expected: Iterable[str]) -> None:
    """The transcript shows exactly these texts, each once, in whatever order the server stored them.

    Messages typed on two pages while their sockets were down are stored in the order their resends arrived.
    """
    wanted = sorted(expected)
    wait_until(person, lambda: sorted(transcript_texts(person.page)) == wanted, f"transcript {wanted}")


def own_messages(person: Person, room_id: str) -> dict[str, dict[str, Any]]:
    """What this person's page knows of the messages they wrote in the room: client_id → {text, status, id}."""
    return person.page.evaluate(
        """(roomId) => {
            const client = window.securechat.client;
            const state = client.rooms.get(roomId);
            const mine = [...(state ? state.messages.values() : [])].filter((m) => m.sender === client.userId);
            const entry = (m) => [m.key.split(":")[1], {text: m.text, status: m.status, id: m.id}];
            return Object.fromEntries(mine.map(entry));
        }""",
        room_id,
    )


def acked_client_ids(person: Person, room_id: str) -> set[str]:
    return {
        frame["client_id"]
        for frame in person.chat_frames("received")
        if frame.get("type") == "ack" and frame.get("room") == room_id
    }


def synced_client_ids(person: Person, room_id: str) -> set[str]:
    """Envelopes this person's page fetched with ``sync`` (catching up), as opposed to receiving them live."""
    return {
        item["client_id"]
        for frame in person.chat_frames("received")
        if frame.get("type") == "envelopes" and frame.get("room") == room_id
        for item in frame.get("items", [])
    }


def stored_client_ids(room_id: str) -> list[str]:
    return [
        str(cid) for cid in Envelope.objects.filter(room_id=room_id).order_by("id").values_list("client_id", flat=True)
    ]


def assert_no_acked_message_lost_or_doubled(room_id: str, people: Iterable[Person], written: list[str]) -> list[str]:
    """No acknowledged message lost, none shown twice.

    Every message whose send was acknowledged is stored once in the database, and every member's transcript shows
    exactly the stored messages, each once, in the server's order; every message in ``written`` (what the people
    typed) is among them and none is left pending. Returns the texts in the server's order.
    """
    people = list(people)
    texts: dict[str, str] = {}
    acked: set[str] = set()
    for person in people:
        mine = own_messages(person, room_id)
        texts.update({cid: message["text"] for cid, message in mine.items()})
        acked |= acked_client_ids(person, room_id)
        assert not [m for m in mine.values() if m["status"] != "sent"], f"{person.username}: not all sent: {mine}"
    stored = stored_client_ids(room_id)
    assert len(stored) == len(set(stored)), f"an envelope stored twice: {stored}"
    assert acked <= set(stored), f"acknowledged but not stored: {acked - set(stored)}"
    assert set(stored) <= set(texts), f"stored, but nobody's page wrote it: {set(stored) - set(texts)}"
    expected = [texts[cid] for cid in stored]
    assert sorted(expected) == sorted(written), f"stored {expected}, typed {written}"
    for person in people:
        expect_texts(person.page, expected)
        expect(messages(person.page)).to_have_class([SENT] * len(expected))
    return expected


def chat_both_ways(alice: Person, bob: Person, when: str) -> list[str]:
    """Each sends one more message and the other sees it live; the transcript so far, in the server's order."""
    written = transcript_texts(alice.page)
    for person, other, text in ((alice, bob, f"alice {when}"), (bob, alice, f"bob {when}")):
        send_message(person, text)
        written.append(text)
        expect_texts(other.page, written)
    return written
