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
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from chat.models import Envelope
from tests.browser.chat import (
    CHAT_TIMEOUT_MS,
    SENT,
    Person,
    expect_texts,
    message,
    messages,
    send_message,
    texts,
    transcript_texts,
)
from tests.servers import free_port

REDIS_SERVER = os.environ.get("REDIS_SERVER", "/usr/bin/redis-server")
# Generous: each wait below ends at the event it waits for (a line of output, an exit), however soon it comes; only
# a process that never gets there waits this long.
STARTUP_SECONDS = 60.0
POLL_SECONDS = 60.0
READY = b"ready to accept connections"  # in redis-server's log line once it listens


@dataclass
class RedisServer:
    """A throw-away redis-server on its own port: nothing saved, so a restart starts empty (as after a crash)."""

    log_dir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)
    starts: int = field(default=0, init=False)
    output: threading.Thread | None = field(default=None, init=False)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        """Returns once the server says it accepts connections (its log line, read as it is written)."""
        self.starts += 1
        log_path = self.log_dir / f"redis-{self.port}-{self.starts}.log"
        command = [REDIS_SERVER, "--save", "", "--appendonly", "no", "--port", str(self.port), "--bind", "127.0.0.1"]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        ready, decided = threading.Event(), threading.Event()
        self.output = threading.Thread(
            target=copy_output, args=(self.process.stdout, log_path, ready, decided), name="redis-output", daemon=True
        )
        self.output.start()
        in_time = decided.wait(STARTUP_SECONDS)  # at its ready line, or when its output ends (it exited)
        if not ready.is_set():
            self.kill()
            why = f"exited with {self.process.returncode}" if in_time else f"not ready in {STARTUP_SECONDS}s"
            raise RuntimeError(f"redis-server (port {self.port}) {why}:\n{log_path.read_text(errors='replace')}")
        assert self.ping(), f"redis-server said it was ready but does not answer on port {self.port}"
        return self

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
        if self.output is not None:
            self.output.join(timeout=10)  # its output ends with it: the log is complete and closed

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.kill()


def copy_output(stream: Any, log_path: Path, ready: threading.Event, decided: threading.Event) -> None:
    """Copies a redis-server's output to its log as it comes; sets ``ready`` and ``decided`` at its ready line, and
    ``decided`` alone if the output ends first (the process exited): a start waits for either, not a fixed time."""
    try:
        with stream, log_path.open("wb") as log:
            for line in stream:
                log.write(line)
                log.flush()
                if READY in line.lower():
                    ready.set()
                    decided.set()
    finally:
        decided.set()


def wait_for(condition: Callable[[], Any], what: str, timeout: float = POLL_SECONDS, every: float = 0.1) -> Any:
    """Polls ``condition`` until it is truthy, for state in another process that tells no one when it changes.

    Only for what no event can decide: a daphne worker's own /healthz answer, say, changes inside that process
    (its database connection coming back) and is seen only by asking. Whatever the browser, the proxy or this
    process can be told of (frames, connections, readiness lines) is waited for as an event instead. The timeout
    is generous, as it only bounds a wait that ends as soon as the state is there: a busy machine makes it later,
    never wrong.
    """
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
    page = person.page
    expect(texts(page)).to_have_count(len(wanted), timeout=CHAT_TIMEOUT_MS)
    for text in set(wanted):
        expect(message(page, text)).to_have_count(wanted.count(text), timeout=CHAT_TIMEOUT_MS)
    assert sorted(transcript_texts(page)) == wanted


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
