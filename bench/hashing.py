"""``python -m bench.hashing``: what password hashing under load does to the chat — a table, never a test.

Clients sign up as fast as one daphne worker answers them (each sign-up is two Argon2 hashes of ~100 MiB), and
meanwhile one signed-in user (in 20 rooms of 10), paced at 5 requests a second each, reads ``/api/rooms`` and opens
a chat socket until its ``ready`` frame (its session, rooms and members, read on the chat's database thread). The
same probes without the sign-ups are the baseline. Each run is a fresh database (``securechat_hashing``, on the
server ``DATABASE_URL`` names) and Redis database 13, with the per-address limits lifted so that the hashing, not a
limit, is measured.

``--before REF`` runs the code at REF too (``git archive`` into a temporary directory, same virtualenv, same
migrations required), alternating with the working tree ``--repeat`` times: the before/after table of
docs/PERFORMANCE.md, "Password hashing under load". Nothing is pinned; the machine's load average is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench import procfs, stack

DATABASE = "securechat_hashing"
PROBE_INTERVAL = 0.2  # seconds between one probe of each kind and the next
LIFTED = "1000000"


@dataclass
class Phase:
    code: str
    load: str
    signups: int = 0
    seconds: float = 0.0
    rooms_ms: list[float] = field(default_factory=list)
    ready_ms: list[float] = field(default_factory=list)
    peak_rss: int = 0
    errors: int = 0


def tree_at(ref: str, into: Path) -> Path:
    """The repository's files at ``ref``, extracted under ``into``."""
    git_diff = ["git", "diff", "--quiet", ref, "--", "accounts/migrations", "chat/migrations"]
    migrations = subprocess.run(git_diff, cwd=stack.ROOT)  # noqa: S603 - git, on a ref the operator names
    if migrations.returncode != 0:
        raise SystemExit(f"{ref} has other migrations than the working tree: the benchmark needs one schema")
    archive = subprocess.run(["git", "archive", ref], cwd=stack.ROOT, check=True, capture_output=True).stdout  # noqa: S603, S607
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)  # noqa: S603, S607
    return into


def make_reader(rooms_count: int) -> stack.BenchUser:
    """A signed-in user in ``rooms_count`` rooms of 10 with some history: what ``/api/rooms`` and ``ready`` read."""
    rooms = stack.make_rooms("r", rooms_count, 10)
    for room in rooms:
        stack.fill_history(room, 20)
    return rooms[0].members[0]


@contextmanager
def server(tree: Path, env: dict[str, str], log_dir: Path) -> Iterator[object]:
    from tests.servers import Server, daphne_command, free_port

    port = free_port()
    process = Server(
        command=daphne_command(port), env=env, port=port, log_path=log_dir / f"daphne-{port}.log", cwd=tree
    )
    with process:
        yield process


def signing_up(url: str, index: int, stop: threading.Event, done: list[int], errors: list[int]) -> None:
    from accounts.tests.factories import signup_body
    from tests.http import BrowserSession

    session = BrowserSession()
    while not stop.is_set():
        status, _ = session.post_json(f"{url}/api/accounts/signup", signup_body(f"load{index}-{uuid.uuid4().hex[:12]}"))
        if status == 201:
            done[index] += 1
        else:
            errors[index] += 1


def rooms_ms(url: str, cookie: str) -> float:
    request = urllib.request.Request(f"{url}/api/rooms", headers={"Cookie": cookie})  # noqa: S310 - the bench's server
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        response.read()
    return (time.perf_counter() - started) * 1000


async def ready_ms(url: str, ws_url: str, cookie: str) -> float:
    from websockets.asyncio.client import connect

    started = time.perf_counter()
    async with connect(f"{ws_url}/ws/chat/", additional_headers={"Cookie": cookie, "Origin": url}) as socket:
        while json.loads(await asyncio.wait_for(socket.recv(), 30))["type"] != "ready":
            pass
        return (time.perf_counter() - started) * 1000


def run_phase(phase: Phase, process: object, reader: stack.BenchUser, clients: int, seconds: float) -> Phase:
    stop = threading.Event()
    done, errors = [0] * clients, [0] * clients
    loaders = [
        threading.Thread(target=signing_up, args=(process.url, index, stop, done, errors)) for index in range(clients)
    ]
    pid = process.process.pid

    def sample_rss() -> None:
        while not stop.wait(0.02):
            phase.peak_rss = max(phase.peak_rss, procfs.rss_bytes(pid))

    sampler = threading.Thread(target=sample_rss)
    sampler.start()
    for loader in loaders:
        loader.start()

    async def probe() -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            tick = time.monotonic()
            phase.rooms_ms.append(await asyncio.to_thread(rooms_ms, process.url, reader.cookie))
            phase.ready_ms.append(await ready_ms(process.url, process.ws_url, reader.cookie))
            await asyncio.sleep(max(0.0, PROBE_INTERVAL - (time.monotonic() - tick)))

    started = time.monotonic()
    try:
        asyncio.run(probe())
    finally:
        stop.set()
        for loader in loaders:
            loader.join()
        sampler.join()
    phase.seconds = time.monotonic() - started
    phase.signups, phase.errors = sum(done), sum(errors)
    return phase


def run_code(label: str, tree: Path, options: argparse.Namespace, base_env: dict[str, str]) -> list[Phase]:
    from django.db import connections

    connections.close_all()
    stack.recreate_database(base_env["DATABASE_URL"])
    stack.migrate()
    reader = make_reader(options.rooms)
    connections.close_all()
    log_dir = Path(tempfile.mkdtemp(prefix="bench-hashing-"))
    (log_dir / "static").mkdir()
    env = {
        **os.environ,
        **base_env,
        "STATIC_ROOT": str(log_dir / "static"),
        "PYTHONUNBUFFERED": "1",
        "SIGNUP_PER_ADDRESS_PER_HOUR": LIFTED,
        "PRELOGIN_PER_ADDRESS_PER_MINUTE": LIFTED,
        "RECOVERY_PER_ADDRESS_PER_HOUR": LIFTED,
    }
    if options.hash_threads:
        env["PASSWORD_HASH_THREADS"] = str(options.hash_threads)
    with server(tree, env, log_dir) as process:
        run_phase(Phase(label, "warm-up"), process, reader, 1, 2)
        loaded = Phase(label, f"{options.clients} clients signing up")
        return [
            run_phase(Phase(label, "quiet"), process, reader, 0, options.seconds),
            run_phase(loaded, process, reader, options.clients, options.seconds),
        ]


def _p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]


def table(phases: list[Phase]) -> str:
    lines = [
        "| code | load | sign-ups/s | /api/rooms p50 / p95 ms | socket to `ready` p50 / p95 ms | daphne peak RSS MiB |",
        "|---|---|---|---|---|---|",
    ]
    for phase in phases:
        rooms = f"{_p(phase.rooms_ms, 50):.0f} / {_p(phase.rooms_ms, 95):.0f}"
        ready = f"{_p(phase.ready_ms, 50):.0f} / {_p(phase.ready_ms, 95):.0f}"
        rate = f"{phase.signups / phase.seconds:.1f}" + (f" ({phase.errors} refused)" if phase.errors else "")
        lines.append(f"| {phase.code} | {phase.load} | {rate} | {rooms} | {ready} | {phase.peak_rss / 2**20:.0f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", metavar="REF", help="also run the code at this git ref (e.g. 73e7858)")
    parser.add_argument("--clients", type=int, default=4, help="clients signing up at once")
    parser.add_argument("--seconds", type=float, default=10, help="length of each phase")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each version, alternating")
    parser.add_argument("--rooms", type=int, default=20, help="rooms of 10 the probing user is in")
    parser.add_argument("--hash-threads", type=int, help="PASSWORD_HASH_THREADS for the server (default: its own)")
    parser.add_argument(
        "--database-url", default=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/x")
    )
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    options = parser.parse_args()
    if not stack.is_postgres(options.database_url):
        raise SystemExit("bench.hashing runs on Postgres: pass --database-url postgres://…")
    database_url = stack.with_database(options.database_url, DATABASE)
    redis_url = stack.with_redis_db(options.redis_url, stack.BENCH_REDIS_DB)
    base_env = stack.bench_env(database_url, redis_url, Path(tempfile.mkdtemp(prefix="bench-hashing-data-")))
    stack.recreate_database(database_url)
    stack.setup_django(base_env)
    versions = [("working tree", stack.ROOT)]
    if options.before:
        versions.insert(0, (options.before, tree_at(options.before, Path(tempfile.mkdtemp(prefix="bench-before-")))))
    print(f"load average before: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}", file=sys.stderr)
    phases = [
        phase
        for _ in range(options.repeat)
        for label, tree in versions
        for phase in run_code(label, tree, options, base_env)
    ]
    print(f"load average after: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}", file=sys.stderr)
    print(f"{options.clients} clients, {options.seconds:g} s per phase, probes every {PROBE_INTERVAL:g} s each.\n")
    print(table(phases))


if __name__ == "__main__":
    main()
