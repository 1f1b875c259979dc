"""A WebSocket client on a plain TCP socket, to play a client no library would be: one that never reads, reads
from a tiny buffer, or goes on sending after the server closed. Blocking calls; text frames only (what the chat
speaks), plus the close frame; ``read_frame`` returns any frame as it comes.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

OP_TEXT, OP_CLOSE, OP_PING, OP_PONG = 0x1, 0x8, 0x9, 0xA


@dataclass(frozen=True)
class Closed:
    """The server's close frame: its code (None if it had none)."""

    code: int | None


class RawSocket:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    @classmethod
    def open(
        cls, url: str, path: str, *, origin: str, cookie: str, receive_buffer: int | None = None, timeout: float = 30
    ) -> RawSocket:
        """Connect to ``url`` (``http://host:port``) and open the WebSocket at ``path``. ``receive_buffer`` sets
        SO_RCVBUF before connecting, so the TCP window the server may fill stays that small."""
        parts = urlsplit(url)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if receive_buffer is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        sock.settimeout(timeout)
        sock.connect((parts.hostname, parts.port))
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nOrigin: {origin}\r\nCookie: {cookie}\r\n\r\n"
        )
        sock.sendall(request.encode())
        raw = cls(sock)
        head = raw._read_until(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            raise ConnectionError(f"no WebSocket: {head[:200]!r}")
        return raw

    def send_text(self, text: str) -> None:
        """One masked text frame, as a client must send it."""
        self.sock.sendall(frame(OP_TEXT, text.encode()))

    def send_json(self, value: Any) -> None:
        self.send_text(json.dumps(value))

    def receive(self) -> dict[str, Any] | Closed:
        """The next text frame, decoded, or the close frame (pings are answered, pongs skipped)."""
        while True:
            opcode, payload = self.read_frame()
            if opcode == OP_TEXT:
                return json.loads(payload)
            if opcode == OP_CLOSE:
                return Closed(struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None)
            if opcode == OP_PING:
                self.sock.sendall(frame(OP_PONG, payload))

    def frames_until_closed(self) -> tuple[list[dict[str, Any]], Closed]:
        frames = []
        while not isinstance(received := self.receive(), Closed):
            frames.append(received)
        return frames, received

    def close(self) -> None:
        self.sock.close()

    def read_frame(self) -> tuple[int, bytes]:
        """The next frame, whatever it is: its opcode and payload."""
        first, second = self._read_exactly(2)
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", self._read_exactly(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", self._read_exactly(8))
        if second & 0x80:
            raise ConnectionError("a server's frames are not masked")
        if not first & 0x80:
            raise ConnectionError("fragmented frames are not expected from this server")
        return first & 0x0F, self._read_exactly(length)

    def _read_exactly(self, count: int) -> bytes:
        while len(self.buffer) < count:
            self._fill()
        taken, self.buffer = self.buffer[:count], self.buffer[count:]
        return taken

    def _read_until(self, marker: bytes) -> bytes:
        while marker not in self.buffer:
            self._fill()
        head, _, self.buffer = self.buffer.partition(marker)
        return head

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self.buffer += chunk


def frame(opcode: int, payload: bytes) -> bytes:
    mask = os.urandom(4)
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
    elif length < 2**16:
        header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, length)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return header + mask + masked
