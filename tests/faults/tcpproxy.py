"""A small TCP proxy for fault tests: forwards every connection to one of its upstreams, round-robin, and can be
broken and restored on command.

It runs its own asyncio loop in a background thread, so a test driving a browser (Playwright's sync API) or the
ORM in the main thread can cut a server off mid-conversation:

- ``break_("refuse")``: live connections are reset, new ones are accepted and reset at once (a server that is down);
- ``break_("blackhole")``: live connections are reset, new ones are accepted and then get no answer at all (a
  server, or a network path, that hangs), until ``restore()`` resets them;
- ``close_connections(upstream)``: reset the connections to one upstream (its process died);
- ``avoiding(upstream)``: new connections skip that upstream (it is drained), existing ones stay.

An upstream that refuses a connection is skipped for the next one, as a load balancer does (nginx's
``proxy_next_upstream error``); when every upstream refuses, the client's connection is reset.

To stand in for an HTTP reverse proxy, ``rewrite_head`` rewrites the request head (request line and headers) of each
connection's first request, given the client's address, and ``source_host`` is the address it connects upstream from.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Literal, TypeVar

Address = tuple[str, int]
Mode = Literal["open", "refuse", "blackhole"]
HeadRewriter = Callable[[bytes, Address], bytes]
T = TypeVar("T")

HEAD_BYTES = 16 * 1024  # what is kept of what a client sent first (request line and headers)
CHUNK = 64 * 1024


@dataclass(eq=False)
class Connection:
    """One client connection; ``upstream`` is None while it is held (blackholed) or not yet forwarded."""

    client: Address
    upstream: Address | None = None
    head: bytes = b""
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    writers: list[asyncio.StreamWriter] = field(default_factory=list)

    def reset(self) -> None:
        for writer in self.writers:
            _reset(writer)
        for task in self.tasks:
            task.cancel()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset, as a dead peer's kernel would, rather than an orderly FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def _cancel_the_rest() -> None:
    tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


class TcpProxy:
    def __init__(
        self,
        upstreams: Sequence[Address],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        source_host: str | None = None,
        rewrite_head: HeadRewriter | None = None,
    ) -> None:
        if not upstreams:
            raise ValueError("a proxy needs at least one upstream")
        self.upstreams = list(upstreams)
        self.host = host
        self.port = port
        self.source_host = source_host
        self.rewrite_head = rewrite_head
        self.mode: Mode = "open"
        self.avoided: set[Address] = set()
        self._next = 0
        self._live: set[Connection] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        # Told of every change to the live connections (one added, forwarded, its first bytes read, or gone).
        self._changed = threading.Condition()
        self._changes = 0

    # --- life cycle (called from the test's thread) -----------------------------------------------------------

    def start(self) -> TcpProxy:
        started: Future[None] = Future()
        self._thread = threading.Thread(target=self._run, args=(started,), name="tcpproxy", daemon=True)
        self._thread.start()
        started.result(timeout=10)
        return self

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        with contextlib.suppress(RuntimeError):
            self._call(self._shutdown)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop = None

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # --- faults (called from the test's thread) ---------------------------------------------------------------

    def break_(self, mode: Literal["refuse", "blackhole"] = "refuse", *, reset_live: bool = True) -> int:
        """From now on new connections are refused or blackholed; returns how many live ones were reset."""

        def apply() -> int:
            self.mode = mode
            return self._reset_where(lambda conn: True) if reset_live else 0

        return self._call(apply)

    def restore(self) -> int:
        """Forward new connections again; held (blackholed) ones are reset. Returns how many were."""

        def apply() -> int:
            self.mode = "open"
            return self._reset_where(lambda conn: conn.upstream is None)

        return self._call(apply)

    def close_connections(self, upstream: Address | None = None) -> int:
        """Reset the live connections (to ``upstream`` only, when given); returns how many."""
        return self._call(lambda: self._reset_where(lambda conn: upstream is None or conn.upstream == upstream))

    @contextlib.contextmanager
    def avoiding(self, upstream: Address) -> Iterator[None]:
        """While inside, new connections go to the other upstreams only."""
        self._call(lambda: self.avoided.add(upstream))
        try:
            yield
        finally:
            self._call(lambda: self.avoided.discard(upstream))

    def connections(self) -> list[Connection]:
        """A snapshot of the live connections (forwarded or held), oldest first."""
        return self._call(lambda: [Connection(conn.client, conn.upstream, conn.head) for conn in self._live])

    def upstreams_of(self, matches: Callable[[bytes], bool]) -> set[Address]:
        """The upstreams of the live forwarded connections whose first bytes ``matches``."""
        return {conn.upstream for conn in self.connections() if conn.upstream is not None and matches(conn.head)}

    def upstream_of(self, matches: Callable[[bytes], bool]) -> Address | None:
        """The upstream of the one live forwarded connection whose first bytes ``matches`` (None if none)."""
        found = self.upstreams_of(matches)
        assert len(found) <= 1, f"connections to several upstreams match: {found}"
        return found.pop() if found else None

    def wait_for_upstream_of(
        self,
        matches: Callable[[bytes], bool],
        wanted: Callable[[Address | None], bool] = lambda upstream: upstream is not None,
        timeout: float = 60,
    ) -> Address | None:
        """``upstream_of(matches)`` once it is ``wanted`` (by default: once there is one), and the only one.

        Looked at again each time the proxy's connections change, as its loop tells: a busy machine makes this later,
        never wrong (a connection on its way out, still matching, is waited out too). The timeout only bounds a wait
        for a connection that never comes.
        """
        deadline = time.monotonic() + timeout
        while True:
            with self._changed:
                seen = self._changes
            found = self.upstreams_of(matches)
            if len(found) <= 1 and wanted(upstream := next(iter(found), None)):
                return upstream
            with self._changed:
                changed = self._changed.wait_for(lambda seen=seen: self._changes != seen, deadline - time.monotonic())
                if not changed:
                    raise AssertionError(f"no wanted upstream for the connection within {timeout}s: {found}")

    # --- the loop's side --------------------------------------------------------------------------------------

    def _call(self, function: Callable[[], T]) -> T:
        if self._loop is None:
            raise RuntimeError("the proxy is not running")

        async def call() -> T:
            return function()

        return asyncio.run_coroutine_threadsafe(call(), self._loop).result(timeout=10)

    def _run(self, started: Future[None]) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            self._server = loop.run_until_complete(
                asyncio.start_server(self._handle, self.host, self.port, reuse_address=True)
            )
            self.port = self._server.sockets[0].getsockname()[1]
        except Exception as error:
            started.set_exception(error)
            loop.close()
            return
        started.set_result(None)
        try:
            loop.run_forever()
        finally:
            # Let every connection's task finish here, not be destroyed pending at some later garbage collection.
            loop.run_until_complete(_cancel_the_rest())
            loop.close()

    def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        self._reset_where(lambda conn: True)

    def _reset_where(self, predicate: Callable[[Connection], bool]) -> int:
        chosen = [conn for conn in self._live if predicate(conn)]
        for conn in chosen:
            conn.reset()
            self._live.discard(conn)
        self._changed_now()
        return len(chosen)

    def _changed_now(self) -> None:
        """Wakes whoever waits for a change to the connections (``wait_for_upstream_of``)."""
        with self._changed:
            self._changes += 1
            self._changed.notify_all()

    def _candidates(self) -> list[Address]:
        """The upstreams in round-robin order for the next connection, avoided ones left out."""
        count = len(self.upstreams)
        start = self._next
        self._next = (self._next + 1) % count
        ordered = [self.upstreams[(start + i) % count] for i in range(count)]
        return [upstream for upstream in ordered if upstream not in self.avoided]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.mode == "refuse":
            _reset(writer)
            return
        conn = Connection(client=writer.get_extra_info("peername")[:2], writers=[writer])
        current = asyncio.current_task()
        if current is not None:
            conn.tasks.append(current)
        self._live.add(conn)
        self._changed_now()
        try:
            if self.mode == "blackhole":
                while await reader.read(CHUNK):  # read and drop; answer nothing, until reset
                    pass
                return
            for upstream in self._candidates():
                source = (self.source_host, 0) if self.source_host else None
                try:
                    upstream_reader, upstream_writer = await asyncio.open_connection(*upstream, local_addr=source)
                except OSError:
                    continue  # a dead upstream: the next one takes the connection
                conn.upstream = upstream
                conn.writers.append(upstream_writer)
                self._changed_now()
                if self.rewrite_head is not None:
                    conn.head = self.rewrite_head(await reader.readuntil(b"\r\n\r\n"), conn.client)
                    self._changed_now()
                    upstream_writer.write(conn.head)
                await asyncio.gather(
                    self._pipe(reader, upstream_writer, conn, keep_head=True),
                    self._pipe(upstream_reader, writer, conn, keep_head=False),
                    return_exceptions=True,
                )
                return
            _reset(writer)  # no upstream took it
        except (
            asyncio.CancelledError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ConnectionError,
            OSError,
        ):
            pass
        finally:
            self._live.discard(conn)
            self._changed_now()
            for each in conn.writers:
                if not each.is_closing():
                    each.transport.abort()

    async def _pipe(
        self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, conn: Connection, *, keep_head: bool
    ) -> None:
        while data := await source.read(CHUNK):
            if keep_head and len(conn.head) < HEAD_BYTES:
                conn.head += data[: HEAD_BYTES - len(conn.head)]
                self._changed_now()
            sink.write(data)
            await sink.drain()
        # One side hung up: pass on what is buffered, then end the whole connection in order.
        for writer in conn.writers:
            writer.close()
        for writer in conn.writers:
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()
