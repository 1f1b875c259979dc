"""``python -m bench.paths``: CPU per operation of the send path's parts, each on its own — a table, never a test.

The relay benchmark says how fast the whole stack is; this says where a send's CPU goes, part by part, so a change
to one part can be judged in a minute on a shared machine. CPU time (``time.process_time``) moves far less with
other people's load than wall time does; both are given. Parts:

- parse: one ``send`` frame read and checked (``chat.protocol``), rooms of 10 and 100;
- store: ``store.post_envelopes`` for batches of 1, 5 and 20 sends to a room of 10 and a lone send to a room of
  100 (one transaction each);
- rate: the send-rate counters of one batch (``throttle.hit_each``) for 1 and 10 senders;
- fan-out: one ``messages`` frame published and received by a subscribed worker (``chat.sending.fanout``), 1 and 10
  envelopes; and one batch's frames for 8 rooms published at once, by the fan-out's script and by a MULTI
  transaction;
- frame log: the arguments autobahn formats for a debug line on every frame daphne sends, with autobahn's own
  helpers (as they run when ``click`` is installed, and without it) and with ``securechat.patches.frame_logging``'s.
- socket write: a 1 kB frame written to a connection as daphne's are (Twisted's asyncio reactor, real TCP) until
  the other end can read it, with Twisted's buffered write and with ``securechat.patches.prompt_writes``';
- gc: a full garbage collection with the application loaded, with the start-up objects in the collector's sight
  and frozen out of it (``securechat.asgi``).

It needs Postgres and Redis (``DATABASE_URL``, ``REDIS_URL``, or the local defaults) and drops and recreates its own
database (``securechat_paths``); the Redis parts use database 13 and a key prefix of their own.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench import stack

DATABASE = "securechat_paths"


def b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def measure(run: Callable[[], Any], reps: int, per: int = 1) -> tuple[float, float]:
    """Median CPU and wall µs per item of ``run`` (which handles ``per`` items), over ``reps`` runs."""
    cpu, wall = [], []
    for _ in range(reps):
        c0, w0 = time.process_time(), time.perf_counter()
        run()
        cpu.append((time.process_time() - c0) / per * 1e6)
        wall.append((time.perf_counter() - w0) / per * 1e6)
    return statistics.median(cpu), statistics.median(wall)


def ameasure(run: Callable[[], Awaitable[Any]], reps: int, per: int = 1) -> tuple[float, float]:
    async def all_runs() -> tuple[float, float]:
        await run()  # warm-up: connections, scripts
        cpu, wall = [], []
        for _ in range(reps):
            c0, w0 = time.process_time(), time.perf_counter()
            await run()
            cpu.append((time.process_time() - c0) / per * 1e6)
            wall.append((time.perf_counter() - w0) / per * 1e6)
        return statistics.median(cpu), statistics.median(wall)

    return asyncio.run(all_runs())


# Each sender's next place in their chain in a room: the server stores only the next place.
_chain_places: dict[tuple[str, int], int] = {}


def send_text(room: stack.BenchRoom, sender: int) -> str:
    ids = sorted(m.id for m in room.members)
    seq = _chain_places.get((room.id, sender), 1)
    _chain_places[(room.id, sender)] = seq + 1
    envelope = {
        "v": 3,
        "room": room.id,
        "sender": sender,
        "client_id": str(uuid.uuid4()),
        "sent_at": int(time.time() * 1000),
        "key_version": 1,
        "roster_seq": room.head[0],
        "roster_hash": room.head[1],
        "chain_seq": seq,
        "chain_prev": None if seq == 1 else b64(os.urandom(32)),
        "key_commit": b64(os.urandom(32)),
        "eph_pub": b64(os.urandom(32)),
        "iv": b64(os.urandom(12)),
        "ciphertext": b64(os.urandom(272)),
        "wrap_ids": ids,
        "wraps": b64(os.urandom(40 * len(ids))),
        "signature": b64(os.urandom(64)),
    }
    return json.dumps({"op": "send", "room": room.id, "envelope": envelope})


def parse_rows(rooms: dict[int, stack.BenchRoom], reps: int) -> list[tuple[str, float, float]]:
    from chat import protocol

    rows = []
    for size, room in rooms.items():
        texts = [send_text(room, room.members[0].id) for _ in range(reps)]
        it = iter(texts)

        def parse(it: Any = it) -> None:
            protocol.envelope(protocol.parse_frame(next(it)).fields)

        rows.append((f"parse: a send frame, room of {size}", *measure(parse, reps)))
    return rows


def store_rows(rooms: dict[int, stack.BenchRoom], reps: int) -> list[tuple[str, float, float]]:
    """Batches of 1, 5 and 20 to a room of 10, and a lone send to a room of 100 (what grows with the members)."""
    from accounts.models import User
    from chat import protocol
    from chat.sending import store

    rows = []
    for size, batch in ((10, 1), (10, 5), (10, 20), (100, 1)):
        room = rooms[size]
        users = {u.pk: u for u in User.objects.filter(pk__in=[m.id for m in room.members])}

        def posts(count: int, room: stack.BenchRoom = room, users: dict[int, User] = users) -> list[store.Post]:
            made = []
            for index in range(count):
                sender = room.members[index % len(room.members)].id
                frame = protocol.parse_frame(send_text(room, sender))
                made.append(store.Post(users[sender], protocol.room_id(frame.fields), protocol.envelope(frame.fields)))
            return made

        batches = iter([posts(batch) for _ in range(reps)])
        cpu, wall = measure(lambda b=batches: store.post_envelopes(next(b), refused={}), reps, per=batch)
        rows.append((f"store: per send, batches of {batch} (room of {size})", cpu, wall))
    return rows


def rate_rows(reps: int) -> list[tuple[str, float, float]]:
    from toolkit import throttle

    limit = throttle.Limit("bench-paths", 10**9, 60, "")
    rows = []
    for senders in (1, 10):
        attempts = {str(i): 1 for i in range(senders)}
        rows.append(
            (f"rate: one batch, {senders} sender(s)", *ameasure(lambda a=attempts: throttle.hit_each(limit, a), reps))
        )
    return rows


class CountingSocket:
    def __init__(self) -> None:
        self.arrived = asyncio.Event()

    async def send(self, text_data: str | None = None) -> None:
        self.arrived.set()

    async def close(self, code: int | None = None, reason: str | None = None) -> None:
        pass


def fanout_rows(reps: int) -> list[tuple[str, float, float]]:
    from chat.sending.fanout import room_fanout

    rows = []
    for count in (1, 10):
        frame = "x" * 1200 * count  # a ``messages`` frame of ``count`` envelopes of a room of 10
        room_id, socket = str(uuid.uuid4()), CountingSocket()

        async def one(frame: str = frame, room_id: str = room_id, socket: CountingSocket = socket) -> None:
            fanout = room_fanout()
            if room_id not in fanout.sockets:
                await fanout.join(room_id, socket)
            socket.arrived.clear()
            await fanout.publish([(room_id, frame)])
            await socket.arrived.wait()

        rows.append((f"fan-out: publish and receive a frame of {count} envelope(s)", *ameasure(one, reps)))
    return rows + publish_rows(reps)


def publish_rows(reps: int) -> list[tuple[str, float, float]]:
    """One batch's frames for 8 rooms published at once (no receiving): the fan-out's script, and a MULTI
    transaction of 8 PUBLISH commands as the fan-out sent them before."""
    from chat.sending.fanout import room_fanout

    frames = [(str(uuid.uuid4()), "x" * 1200) for _ in range(8)]

    async def script() -> None:
        await room_fanout().publish(frames)

    async def multi() -> None:
        bus = room_fanout().bus
        async with bus.client.pipeline(transaction=True) as pipe:
            for room_id, frame in frames:
                pipe.publish(bus.channel(room_id), frame)
            await pipe.execute()

    return [
        ("fan-out: publish frames for 8 rooms, one script (chat.sending.fanout)", *ameasure(script, reps)),
        ("fan-out: publish frames for 8 rooms, a MULTI transaction", *ameasure(multi, reps)),
    ]


def frame_log_rows(reps: int) -> list[tuple[str, float, float]]:
    import autobahn.util
    from autobahn.websocket.protocol import WebSocketProtocol

    from securechat.patches import frame_logging

    peer = "tcp4:127.0.0.1:50000"
    has_click = autobahn.util._HAS_CLICK  # autobahn colours the text with click when it is installed
    cases = [
        ("autobahn's helpers, click installed", autobahn.util.hltype, autobahn.util.hlval, True),
        ("autobahn's helpers, no click", autobahn.util.hltype, autobahn.util.hlval, False),
        ("securechat.patches.frame_logging's helpers", frame_logging.plain_type, frame_logging.plain_value, False),
    ]
    rows = []
    for label, hltype, hlval, click in cases:
        if click and not has_click:
            continue
        autobahn.util._HAS_CLICK = click

        def hundred_frames(hltype: Any = hltype, hlval: Any = hlval) -> None:
            for _ in range(100):  # what WebSocketProtocol.sendData formats for each frame
                hltype(WebSocketProtocol.sendData), hlval(peer), hlval(1234)

        rows.append((f"frame log: per frame sent, {label}", *measure(hundred_frames, reps, per=100)))
    autobahn.util._HAS_CLICK = has_click
    return rows


def socket_write_rows(reps: int) -> list[tuple[str, float, float]]:
    """A 1 kB frame written to a daphne-style connection (Twisted's asyncio reactor, a real TCP socket) until the
    other end can read it: Twisted's buffered write, which waits for the event loop, and ``prompt_writes``'."""
    import socket

    from twisted.internet import protocol, tcp
    from twisted.internet.asyncioreactor import AsyncioSelectorReactor

    from securechat.patches import prompt_writes

    loop = asyncio.new_event_loop()
    reactor = AsyncioSelectorReactor(eventloop=loop)
    accepted: list[tcp.Server] = []

    class Accept(protocol.Protocol):
        def connectionMade(self) -> None:
            accepted.append(self.transport)

    port = reactor.listenTCP(0, protocol.Factory.forProtocol(Accept), interface="127.0.0.1")
    peer = socket.create_connection(("127.0.0.1", port.getHost().port))
    while not accepted:
        loop.run_until_complete(asyncio.sleep(0))
    connection, frame, installed = accepted[0], b"x" * 1000, tcp.Connection.write

    async def hundred_frames() -> None:
        for _ in range(100):
            connection.write(frame)
            # Twisted sends buffered bytes only when the event loop gets to them: each turn is part of the cost.
            while connection.dataBuffer or connection._tempDataBuffer:  # noqa: ASYNC110
                await asyncio.sleep(0)
            peer.recv(len(frame))

    rows = []
    for label, write in (
        ("Twisted's, sent by the event loop", prompt_writes._buffered_write),
        ("securechat.patches.prompt_writes', sent at once", prompt_writes.write_now),
    ):
        tcp.Connection.write = write
        rows.append(
            (
                f"socket write: a 1 kB frame, {label}",
                *measure(lambda: loop.run_until_complete(hundred_frames()), reps, per=100),
            )
        )
    tcp.Connection.write = installed
    peer.close()
    connection.abortConnection()
    port.stopListening()
    loop.run_until_complete(asyncio.sleep(0))
    loop.close()
    return rows


def gc_rows(reps: int) -> list[tuple[str, float, float]]:
    """A full garbage collection with the application loaded as daphne loads it, with and without ``gc.freeze``."""
    import gc

    import securechat.asgi  # noqa: F401  (what daphne loads; it freezes what start-up made)

    rows = []
    for label, freeze in (("start-up objects in sight", False), ("start-up objects frozen (securechat.asgi)", True)):
        if freeze:
            gc.freeze()
        else:
            gc.unfreeze()
        rows.append((f"gc: a full collection, {label}", *measure(gc.collect, min(reps, 20))))
    return rows


def table(rows: list[tuple[str, float, float]]) -> str:
    lines = ["| part | CPU µs | wall µs |", "|---|---|---|"]
    lines += [
        f"| {name} | {cpu:,.1f} | {wall:,.1f} |" if cpu < 10 else f"| {name} | {cpu:,.0f} | {wall:,.0f} |"
        for name, cpu, wall in rows
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=300, help="runs of each part (medians are reported)")
    parser.add_argument(
        "--database-url", default=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/x")
    )
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument(
        "--parts",
        help="comma-separated subset of parse,store,rate,fan-out,frame-log,socket-write,gc: to judge one part's change "
        "in alternating runs",
    )
    options = parser.parse_args()
    if not stack.is_postgres(options.database_url):
        raise SystemExit("bench.paths runs on Postgres: pass --database-url postgres://…")
    database_url = stack.with_database(options.database_url, DATABASE)
    stack.recreate_database(database_url)
    env = stack.bench_env(
        database_url, stack.with_redis_db(options.redis_url, stack.BENCH_REDIS_DB), Path(tempfile.mkdtemp())
    )
    stack.setup_django(env)
    stack.migrate()
    rooms = {size: stack.make_rooms(f"p{size}-", 1, size)[0] for size in (10, 100)}
    parts: dict[str, Callable[[int], list[tuple[str, float, float]]]] = {
        "parse": lambda reps: parse_rows(rooms, reps),
        "store": lambda reps: store_rows(rooms, reps),
        "rate": rate_rows,
        "fan-out": fanout_rows,
        "frame-log": frame_log_rows,
        "socket-write": socket_write_rows,
        "gc": gc_rows,
    }
    chosen = options.parts.split(",") if options.parts else list(parts)
    if unknown := set(chosen) - set(parts):
        raise SystemExit(f"unknown parts: {', '.join(sorted(unknown))} (known: {', '.join(parts)})")
    rows = [row for name in chosen for row in parts[name](options.reps)]
    print(f"Medians of {options.reps} runs; CPU is this process's (client side, kernel included).\n")
    print(table(rows))


if __name__ == "__main__":
    main()
