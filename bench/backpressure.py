"""``python -m bench.backpressure``: a client that asks for history and never reads, and daphne's memory.

One daphne worker (as ``make run`` serves it) on a fresh Postgres database and Redis; a room whose envelopes are
large enough that each ``history`` answer is a full frame (about 250 KiB). A client on a raw socket with a 4 KiB
receive buffer sends 1 500 ``history`` requests and reads nothing. The table gives daphne's resident memory before,
once the worker has dealt with the requests (it closed the socket, or answered the last one), and 3 s after the
socket closed; with the shipped limits, with the per-socket rate limits off (the bound on unsent output alone), and
with neither (the code before them). A fresh server for each row. See docs/PERFORMANCE.md and SECURITY.md ("Limits").
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import procfs, stack

REQUESTS = 1500
ENVELOPES = 200
BLOCKS = 16  # 4 KiB of padded payload: about 6 KiB per envelope as JSON, so a page of 100 is cut to one frame
RECEIVE_BUFFER = 4096
WAIT = 120.0
SETTLE_SECONDS = 3.0
OFF = str(10**9)
NO_BOUND = str(2**62)


@dataclass(frozen=True)
class Setup:
    title: str
    env: dict[str, str]


def setups() -> list[Setup]:
    from django.conf import settings

    shipped = {
        "SOCKET_HISTORY_PER_MINUTE": str(settings.SOCKET_HISTORY_PER_MINUTE),
        "SOCKET_SYNC_PER_MINUTE": str(settings.SOCKET_SYNC_PER_MINUTE),
        "SOCKET_TYPING_PER_MINUTE": str(settings.SOCKET_TYPING_PER_MINUTE),
        "SOCKET_UNSENT_MAX_BYTES": str(settings.SOCKET_UNSENT_MAX_BYTES),
    }
    limits_off = {"SOCKET_HISTORY_PER_MINUTE": OFF, "SOCKET_SYNC_PER_MINUTE": OFF, "SOCKET_TYPING_PER_MINUTE": OFF}
    return [
        Setup("shipped limits", shipped),
        Setup("unsent bound alone (rate limits off)", {**shipped, **limits_off}),
        Setup("neither (as before)", {**shipped, **limits_off, "SOCKET_UNSENT_MAX_BYTES": NO_BOUND}),
    ]


async def first_of(ws: Any, room: str, hostile: int) -> str:
    """Until the hostile socket is dealt with, as the room's other member hears it: ``closed`` (it left the room's
    presence) or ``answered`` (its typing notice, sent after the requests, came through)."""
    seen_online = False
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
        if frame.get("room") != room:
            continue
        if frame["type"] == "typing" and frame["user"] == hostile:
            return "answered"
        if frame["type"] == "presence":
            if hostile in frame["online"]:
                seen_online = True
            elif seen_online:
                return "closed"


async def run_setup(setup: Setup, room: stack.BenchRoom, log_dir: Path) -> dict[str, Any]:
    from websockets.asyncio.client import connect

    from tests.rawsocket import Closed, RawSocket

    hostile, observer = room.members
    with stack.app_servers(log_dir, env=setup.env) as group:
        pid, url = group.pids[0], group.origin(0)
        ws_url = group.ws_url(0)
        async with connect(ws_url, origin=url, additional_headers={"Cookie": observer.cookie}, max_size=None) as ws:
            # Warm: the code paths a request takes are loaded before the first figure.
            await ws.send(json.dumps({"op": "history", "room": room.id, "limit": 100, "ref": "warm"}))
            while json.loads(await asyncio.wait_for(ws.recv(), WAIT)).get("ref") != "warm":
                pass
            await asyncio.sleep(SETTLE_SECONDS)
            before = procfs.rss_bytes(pid)
            raw = await asyncio.to_thread(
                RawSocket.open, url, "/ws/chat/", origin=url, cookie=hostile.cookie, receive_buffer=RECEIVE_BUFFER
            )
            began = time.monotonic()
            request = {"op": "history", "room": room.id, "before": None, "limit": 100}
            for index in range(REQUESTS):
                raw.send_json({**request, "ref": f"h{index}"})
            raw.send_json({"op": "typing", "room": room.id})
            outcome = await first_of(ws, room.id, hostile.id)
            handled_s = time.monotonic() - began
            handled = procfs.rss_bytes(pid)
            code = None
            if outcome == "closed":  # read what was sent before the close, and the close
                frames, closed = await asyncio.to_thread(raw.frames_until_closed)
                code = closed.code if isinstance(closed, Closed) else None
                answers = sum(frame.get("type") == "envelopes" for frame in frames)
                refused = sum(frame.get("code") == "rate_limited" for frame in frames)
            else:
                answers, refused = REQUESTS, None
            raw.close()
            await asyncio.sleep(SETTLE_SECONDS)
            after = procfs.rss_bytes(pid)
    return {
        "setup": setup.title,
        "env": setup.env,
        "requests": REQUESTS,
        "outcome": outcome,
        "close_code": code,
        "answers_sent": answers,
        "refused_rate_limited": refused,
        "handled_seconds": round(handled_s, 2),
        "rss_before_bytes": before,
        "rss_handled_bytes": handled,
        "rss_after_close_bytes": after,
    }


def mib(value: int) -> str:
    return f"{value / 2**20:,.0f}"


def table(results: Sequence[dict[str, Any]]) -> str:
    header = ("setup", "socket", "answers sent", "RSS before, MiB", "after 1 500 requests", "after it closed")
    rows = []
    for r in results:
        socket = f"closed, {r['close_code']}" if r["outcome"] == "closed" else "open, every request answered"
        rows.append(
            (
                r["setup"],
                socket,
                str(r["answers_sent"]),
                mib(r["rss_before_bytes"]),
                mib(r["rss_handled_bytes"]),
                mib(r["rss_after_close_bytes"]),
            )
        )
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |"]
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    lines += ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |" for row in rows]
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.backpressure", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/securechat"),
        help="a Postgres server; the benchmark drops and recreates its own database there",
    )
    parser.add_argument("--database-name", default=f"{stack.BENCH_DATABASE}_backpressure")
    parser.add_argument(
        "--redis-url",
        default=stack.with_redis_db(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0", stack.BENCH_REDIS_DB),
    )
    parser.add_argument("--skip-unbounded", action="store_true", help="leave out the last row (it takes ~0.5 GiB)")
    parser.add_argument("--out", type=Path, default=stack.ROOT / "bench-results" / "backpressure.json")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    if not stack.is_postgres(options.database_url):
        raise SystemExit("the benchmark runs on Postgres: pass --database-url postgres://…")
    log_dir = options.out.parent / "logs" / time.strftime("backpressure-%Y%m%d-%H%M%S")
    log_dir.mkdir(parents=True, exist_ok=True)
    database_url = stack.with_database(options.database_url, options.database_name)
    print(f"bench: fresh database {options.database_name}, Redis {options.redis_url}, logs in {log_dir}")
    stack.recreate_database(database_url)
    stack.setup_django(stack.bench_env(database_url, options.redis_url, log_dir / "data"))
    stack.migrate()
    (room,) = stack.make_rooms("bpress-", 1, 2)
    stack.fill_history(room, ENVELOPES, BLOCKS)
    from django.db import connections

    connections.close_all()

    results = []
    chosen = setups()[:-1] if options.skip_unbounded else setups()
    for setup in chosen:
        print(f"{setup.title}:", flush=True)
        results.append(asyncio.run(run_setup(setup, room, log_dir)))
        print(f"    {json.dumps({k: v for k, v in results[-1].items() if k != 'env'})}", flush=True)
    options.out.parent.mkdir(parents=True, exist_ok=True)
    document = {"benchmark": "backpressure", "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "results": results}
    document["machine"] = procfs.machine()
    options.out.write_text(json.dumps(document, indent=2) + "\n")
    print()
    print(table(results))
    print(f"\nJSON: {options.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
