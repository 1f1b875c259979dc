"""The open-loop load generator and its statistics: one asyncio process, one WebSocket per member.

Open loop: every member sends on a clock (a fixed interval; the members' phases spread evenly over
it, so the room sees a steady stream rather than bursts), whether or not earlier
sends were answered, and latency is measured from the *scheduled* send time. A server that falls
behind therefore shows up as latency, never as a politely slower client (no coordinated omission).

Both targets get the same frames: ``{"op": "send", "room", "envelope"}`` with an envelope of the real
shape and size (random bytes where the ciphertext, keys and signature go; a wrap for every member).
Each carries a fresh ``client_id``; the generator remembers when that id was scheduled, and every
receiver matches what arrives (the app's ``message`` frame, or the relay's echo of the frame itself)
by that ``client_id``. A bit per member records who got it, so duplicates and losses are exact.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import gc
import json
import os
import random
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bench.procfs import CpuMeter, machine_busy_seconds

P = ParamSpec("P")
T = TypeVar("T")

# How the two servers' relayed frames start: the app writes ``json.dumps`` defaults (one ``messages`` frame per
# commit, with one or more envelopes), the bare relay echoes the generator's own compact frame, one per send.
# Anything else is parsed as JSON.
APP_MESSAGES_PREFIX = b'{"type": "messages"'
RELAY_MESSAGE_PREFIX = b'{"op":"send"'
CLIENT_ID_KEY = b'"client_id"'
VARIANTS_PER_SENDER = 16
MAX_FRAME_BYTES = 16 * 1024 * 1024


def b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def percentile(ordered: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile of an ascending sequence (None when empty)."""
    if not ordered:
        return None
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


# --- who sends where ------------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    """One socket: a user in one room. ``slot`` is the member's bit in the room's delivery mask."""

    user_id: int
    room: int
    slot: int
    url: str
    headers: tuple[tuple[str, str], ...] = ()
    origin: str | None = None


@dataclass(frozen=True)
class RoomPlan:
    room_id: str
    member_ids: tuple[int, ...]
    head: tuple[int, str]  # the room's roster head (seq, base64 hash): every send is a v3 envelope naming it


# Each sender's next place in their chain in a room, kept across steps (the server stores only the next place).
_chain_places: dict[tuple[str, int], int] = {}


class Frames:
    """Pre-built send frames, so the generator spends its CPU on the sockets, not on ``json.dumps``.

    A frame is ``head + client_id + mid + sent_at + chain + tail``, where ``chain`` is the sender's next place in
    their chain in the room and the previous envelope's hash; each sender cycles through a few variants whose random
    bytes differ (the server cannot tell random bytes from ciphertext or hashes either way).
    """

    def __init__(self, room: RoomPlan, sender: int, blocks: int) -> None:
        self._variants: list[tuple[bytes, bytes, bytes, bytes]] = []
        self._place = (room.room_id, sender)
        self._prev = f'"{b64(os.urandom(32))}"'
        for _ in range(VARIANTS_PER_SENDER):
            envelope = {
                "v": 3,
                "room": room.room_id,
                "sender": sender,
                "client_id": "\x00",
                "sent_at": "\x01",
                "key_version": 1,
                "roster_seq": room.head[0],
                "roster_hash": room.head[1],
                "chain_seq": "\x02",
                "key_commit": b64(os.urandom(32)),
                "eph_pub": b64(os.urandom(32)),
                "iv": b64(os.urandom(12)),
                "ciphertext": b64(os.urandom(256 * blocks + 16)),
                "wrap_ids": sorted(room.member_ids),
                "wraps": b64(os.urandom(40 * len(room.member_ids))),
                "signature": b64(os.urandom(64)),
            }
            text = json.dumps({"op": "send", "room": room.room_id, "envelope": envelope}, separators=(",", ":"))
            head, rest = text.split('"\\u0000"', 1)
            mid, rest = rest.split('"\\u0001"', 1)
            between, tail = rest.split('"\\u0002"', 1)
            self._variants.append((f'{head}"'.encode(), f'"{mid}'.encode(), between.encode(), tail.encode()))
        self._next = 0

    def make(self, client_id: bytes, sent_at_ms: int) -> bytes:
        head, mid, between, tail = self._variants[self._next]
        self._next = (self._next + 1) % len(self._variants)
        seq = _chain_places.get(self._place, 1)
        _chain_places[self._place] = seq + 1
        chain = f'{seq},"chain_prev":{"null" if seq == 1 else self._prev}'.encode()
        return b"".join((head, client_id, mid, str(sent_at_ms).encode(), between, chain, tail))


class ClientIds:
    """Canonical lower-case UUIDs: a random run prefix and a counter, cheap to make and unique."""

    def __init__(self) -> None:
        prefix = uuid.uuid4().hex
        self._prefix = f"{prefix[:8]}-{prefix[8:12]}-{prefix[12:16]}-{prefix[16:20]}-".encode()
        self._counter = 0

    def next(self) -> bytes:
        self._counter += 1
        return self._prefix + f"{self._counter:012x}".encode()


# --- what happened to each send -------------------------------------------------------------


class Sent:
    __slots__ = ("at", "mask", "measured", "room", "step")

    def __init__(self, at: float, room: int, step: int, measured: bool) -> None:
        self.at = at
        self.room = room
        self.step = step
        self.measured = measured
        self.mask = 0


@dataclass
class Tracker:
    """Every send of a scenario, by ``client_id``, and what the current step has measured so far."""

    room_sizes: list[int]
    sent: dict[bytes, Sent] = field(default_factory=dict)
    sends: int = 0
    acks: int = 0
    pending: int = 0  # deliveries still owed, over every send of the scenario
    last_delivery: float = 0.0
    duplicates: int = 0
    strays: int = 0  # deliveries of ids this scenario never sent
    closed: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    step: int = -1
    step_open: bool = False
    step_pending: int = 0
    step_expected: int = 0
    step_sends: int = 0
    step_latencies: list[float] = field(default_factory=list)
    step_ack_latencies: list[float] = field(default_factory=list)

    def full_mask(self, room: int) -> int:
        return (1 << self.room_sizes[room]) - 1

    def add(self, client_id: bytes, at: float, room: int, measured: bool) -> None:
        self.sent[client_id] = Sent(at, room, self.step, measured)
        self.sends += 1
        self.pending += self.room_sizes[room]
        if measured:
            self.step_sends += 1
            self.step_expected += self.room_sizes[room]
            self.step_pending += self.room_sizes[room]

    def delivered(self, client_id: bytes, slot: int, now: float) -> None:
        sent = self.sent.get(client_id)
        if sent is None:
            self.strays += 1
            return
        bit = 1 << slot
        if sent.mask & bit:
            self.duplicates += 1
            return
        sent.mask |= bit
        self.pending -= 1
        self.last_delivery = now
        if sent.measured and sent.step == self.step and self.step_open:
            self.step_pending -= 1
            self.step_latencies.append(now - sent.at)

    def other(self, frame: dict[str, Any], now: float) -> None:
        kind = frame.get("type")
        if kind == "ack":
            self.acks += 1
            sent = self.sent.get(str(frame.get("client_id")).encode())
            if sent is not None and sent.measured and sent.step == self.step and self.step_open:
                self.step_ack_latencies.append(now - sent.at)
        elif kind == "error":
            self.errors[str(frame.get("code"))] += 1

    def begin_step(self) -> None:
        self.step += 1
        self.step_open = True
        self.step_pending = 0
        self.step_expected = 0
        self.step_sends = 0
        self.step_latencies = []
        self.step_ack_latencies = []

    def losses(self, step: int | None = None) -> tuple[int, int]:
        """(messages some member never got, deliveries missing) over every send so far, or one step's."""
        messages = deliveries = 0
        for sent in self.sent.values():
            if step is not None and sent.step != step:
                continue
            missing = self.room_sizes[sent.room] - sent.mask.bit_count()
            if missing:
                messages += 1
                deliveries += missing
        return messages, deliveries


# --- sockets ----------------------------------------------------------------------------------


@dataclass
class Conn:
    member: Member
    ws: ClientConnection
    reader: asyncio.Task[None] | None = None


async def open_socket(member: Member, wait_ready: bool, within: float = 30.0) -> Conn:
    """Connect like a browser tab would (session cookie, same origin); for the app, wait for ``ready``."""
    ws = await connect(
        member.url,
        origin=member.origin,  # type: ignore[arg-type]
        additional_headers=list(member.headers),
        compression=None,  # neither server compresses; random bytes would barely shrink anyway
        max_size=MAX_FRAME_BYTES,
        max_queue=4096,
        ping_interval=None,
        proxy=None,
        open_timeout=within,
    )
    if wait_ready:
        async with asyncio.timeout(within):
            while True:
                frame = json.loads(await ws.recv())
                if frame.get("type") == "ready":
                    break
    return Conn(member, ws)


async def open_sockets(members: Sequence[Member], wait_ready: bool, concurrency: int = 50) -> list[Conn]:
    gate = asyncio.Semaphore(concurrency)

    async def one(member: Member) -> Conn:
        async with gate:
            return await open_socket(member, wait_ready)

    return list(await asyncio.gather(*(one(m) for m in members)))


async def close_sockets(conns: Sequence[Conn]) -> None:
    for conn in conns:
        if conn.reader is not None:
            conn.reader.cancel()
    await asyncio.gather(*(conn.ws.close() for conn in conns), return_exceptions=True)
    await asyncio.gather(*(c.reader for c in conns if c.reader is not None), return_exceptions=True)


async def _read(conn: Conn, tracker: Tracker) -> None:
    """Match every frame that arrives; the common case (a relayed envelope) without parsing JSON."""
    ws, slot, delivered, other = conn.ws, conn.member.slot, tracker.delivered, tracker.other
    now = time.monotonic
    try:
        while True:
            data = await ws.recv(decode=False)
            at = now()
            if data.startswith(APP_MESSAGES_PREFIX) or data.startswith(RELAY_MESSAGE_PREFIX):
                # Every envelope in the frame is a delivery: each carries its "client_id" once.
                key = data.find(CLIENT_ID_KEY)
                while key >= 0:
                    quote = data.find(b'"', key + len(CLIENT_ID_KEY))
                    delivered(bytes(data[quote + 1 : quote + 37]), slot, at)
                    key = data.find(CLIENT_ID_KEY, quote + 37)
            else:
                other(json.loads(data), at)
    except ConnectionClosed:
        tracker.closed += 1


def start_readers(conns: Sequence[Conn], tracker: Tracker) -> None:
    for conn in conns:
        conn.reader = asyncio.create_task(_read(conn, tracker))


# --- one step of offered load -------------------------------------------------------------------


@dataclass(frozen=True)
class StepTiming:
    warmup: float
    measure: float
    drain: float


@dataclass
class StepResult:
    offered_deliveries_per_s: float
    achieved_deliveries_per_s: float
    sends: int
    expected: int
    delivered: int
    delivered_ratio: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    ack_p50_ms: float | None
    ack_p99_ms: float | None
    cpu_percent: dict[str, float]
    errors: dict[str, int]
    sockets_closed: int
    step: int = 0
    good: bool = False  # set by bench.relay, which knows the limits
    # Filled in at the end of the scenario: sends of this step that some member never got at all.
    lost_messages: int = 0
    lost_deliveries: int = 0

    def within(self, p99_limit_ms: float, min_ratio: float) -> bool:
        return self.p99_ms is not None and self.p99_ms <= p99_limit_ms and self.delivered_ratio >= min_ratio


def per_member_rate(offered_deliveries_per_s: float, room_sizes: Sequence[int]) -> float:
    """Sends per second per member: a send to a room of m members is m deliveries, and m members send."""
    return offered_deliveries_per_s / sum(m * m for m in room_sizes)


async def _send_on_clock(
    conn: Conn,
    frames: Frames,
    ids: ClientIds,
    tracker: Tracker,
    rate: float,
    phase: float,
    start: float,
    measure_from: float,
    end: float,
) -> None:
    """Send at ``start + (phase + k) / rate`` for k = 0, 1, … until ``end``, late or not."""
    interval = 1.0 / rate
    at = start + phase * interval
    loop = asyncio.get_running_loop()
    room = conn.member.room
    while at < end:
        delay = at - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        client_id = ids.next()
        tracker.add(client_id, at, room, measured=at >= measure_from)
        try:
            await conn.ws.send(frames.make(client_id, int(time.time() * 1000)), text=True)
        except ConnectionClosed:
            return
        at += interval


async def settle(tracker: Tracker, within: float, quiet: float = 1.0) -> None:
    """Wait until nothing is owed, or nothing has arrived for ``quiet`` seconds (the rest is lost), at most ``within``.

    After an overloaded step the server (or the generator) may need many seconds to work off its backlog;
    the next step must not start inside it.
    """
    began = time.monotonic()
    tracker.last_delivery = max(tracker.last_delivery, began)
    await wait_until(lambda: tracker.pending <= 0 or time.monotonic() - tracker.last_delivery > quiet, within)


async def wait_until(condition: Callable[[], bool], within: float, poll: float = 0.02) -> bool:
    """Poll ``condition`` until it holds (True) or ``within`` seconds pass (False)."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(poll)
    return True


def holding_off_collections(step: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """Run ``step`` with the generator's garbage collections held off.

    The generator's own pauses would count as the server's latency: a full collection of everything the scenario has
    tracked so far stopped this process for 50 ms and more. Collect first, freeze what is left out of later
    collections, and let none run until the step is over.
    """

    @functools.wraps(step)
    async def held_off(*args: P.args, **kwargs: P.kwargs) -> T:
        gc.collect()
        gc.freeze()
        gc.disable()
        try:
            return await step(*args, **kwargs)
        finally:
            gc.enable()

    return held_off


@holding_off_collections
async def run_step(
    conns: Sequence[Conn],
    frames: dict[int, Frames],
    ids: ClientIds,
    tracker: Tracker,
    offered_deliveries_per_s: float,
    timing: StepTiming,
    meters: dict[str, list[int]],
) -> StepResult:
    """Offer ``offered_deliveries_per_s`` for warm-up + measurement, then wait up to ``drain`` for stragglers.

    Only sends scheduled inside the measurement window count; a delivery counts if it arrived before the
    drain ended. ``meters`` names the processes whose CPU is read over the measurement window.
    """
    loop = asyncio.get_running_loop()
    rate = per_member_rate(offered_deliveries_per_s, tracker.room_sizes)
    tracker.begin_step()
    start = loop.time() + 0.05
    measure_from = start + timing.warmup
    end = measure_from + timing.measure
    # Phases spread evenly (with a little jitter), so the offered rate is steady even when each member
    # sends less than once per window.
    phases = [(index + random.random()) / len(conns) for index in range(len(conns))]  # noqa: S311 - not a secret
    random.shuffle(phases)
    senders = [
        asyncio.create_task(_send_on_clock(c, frames[id(c)], ids, tracker, rate, phase, start, measure_from, end))
        for c, phase in zip(conns, phases, strict=True)
    ]
    cpu = {name: CpuMeter(pids) for name, pids in meters.items()}
    await asyncio.sleep(max(0.0, measure_from - loop.time()))
    errors_before, closed_before = Counter(tracker.errors), tracker.closed
    for meter in cpu.values():
        meter.start(loop.time())
    busy_from, busy_wall = machine_busy_seconds(), loop.time()
    await asyncio.sleep(max(0.0, end - loop.time()))
    usage = {name: round(meter.stop(loop.time()), 1) for name, meter in cpu.items()}
    busy = 100.0 * (machine_busy_seconds() - busy_from) / max(loop.time() - busy_wall, 1e-9)
    # Everyone else on the machine (other test suites): the noise floor of this step's figures.
    usage["other"] = round(max(0.0, busy - sum(usage.values())), 1)
    await asyncio.gather(*senders)
    await wait_until(lambda: tracker.step_pending <= 0, timing.drain)
    tracker.step_open = False
    latencies = sorted(tracker.step_latencies)
    acks = sorted(tracker.step_ack_latencies)
    expected = tracker.step_expected

    def ms(values: list[float], q: float) -> float | None:
        value = percentile(values, q)
        return None if value is None else round(value * 1000, 2)

    return StepResult(
        offered_deliveries_per_s=round(offered_deliveries_per_s, 1),
        achieved_deliveries_per_s=round(len(latencies) / timing.measure, 1),
        sends=tracker.step_sends,
        expected=expected,
        delivered=len(latencies),
        delivered_ratio=round(len(latencies) / expected, 5) if expected else 0.0,
        p50_ms=ms(latencies, 50),
        p95_ms=ms(latencies, 95),
        p99_ms=ms(latencies, 99),
        max_ms=ms(latencies, 100),
        ack_p50_ms=ms(acks, 50),
        ack_p99_ms=ms(acks, 99),
        cpu_percent=usage,
        errors=dict(tracker.errors - errors_before),
        sockets_closed=tracker.closed - closed_before,
        step=tracker.step,
    )


def frames_for(conns: Sequence[Conn], rooms: Sequence[RoomPlan], blocks: int) -> dict[int, Frames]:
    """One frame maker per socket (keyed by ``id(conn)``), for its user in its room."""
    return {id(c): Frames(rooms[c.member.room], c.member.user_id, blocks) for c in conns}


# --- opening a room with history ---------------------------------------------------------------


async def request(ws: ClientConnection, frame: dict[str, Any], answer: str, within: float = 30.0) -> dict[str, Any]:
    """Send ``frame`` with a fresh ``ref`` and return the answer of type ``answer`` that echoes it."""
    ref = uuid.uuid4().hex
    await ws.send(json.dumps({**frame, "ref": ref}))
    async with asyncio.timeout(within):
        while True:
            reply = json.loads(await ws.recv())
            if reply.get("ref") == ref:
                if reply.get("type") != answer:
                    raise RuntimeError(f"expected {answer}, got {reply}")
                return reply


@dataclass
class HistoryTiming:
    first_screen_s: float
    page_all_s: float
    pages: int
    items: int


async def open_room(ws: ClientConnection, room_id: str, first: int = 50, page: int = 100) -> HistoryTiming:
    """What a browser does opening a room: the latest ``first`` envelopes, then (scrolling up) every older page."""
    began = time.monotonic()
    await request(ws, {"op": "history", "room": room_id, "before": None, "limit": first}, "envelopes")
    first_screen = time.monotonic() - began
    began = time.monotonic()
    before: int | None = None
    pages = items = 0
    while True:
        reply = await request(ws, {"op": "history", "room": room_id, "before": before, "limit": page}, "envelopes")
        pages += 1
        items += len(reply["items"])
        if not reply["more"] or not reply["items"]:
            break
        before = reply["items"][0]["id"]
    return HistoryTiming(first_screen, time.monotonic() - began, pages, items)
