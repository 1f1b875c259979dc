"""``python -m bench.relay``: how many deliveries per second the chat relays, next to a bare relay's floor.

For each load scenario the bare relay (bench.bare_relay under uvicorn) and the app (daphne on Postgres and
Redis) get the same open-loop load, ramped until p99 latency passes the limit or deliveries fall under
the threshold; then the same scenario at half of that saturation gives the latency figures. Two more
scenarios measure memory per idle socket and the time to open a room with history. A table goes to
stdout and everything measured to ``bench-results/relay.json``. ``--steady RATE`` instead offers one load to the
app, step after step, and prints a line per step: for comparing two versions of the code. See docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import dataclasses
import math
import os
import resource
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from bench import procfs, report, stack
from bench.loadgen import (
    ClientIds,
    Conn,
    Frames,
    Member,
    RoomPlan,
    StepResult,
    StepTiming,
    Tracker,
    close_sockets,
    frames_for,
    open_room,
    open_sockets,
    run_step,
    settle,
    start_readers,
    wait_until,
)

MIN_OFFERED = 10.0
QUIET_PERCENT = 15.0
SERVER_CORE = 0
LOADGEN_CORE = 1
DEFAULT_OUT = stack.ROOT / "bench-results" / "relay.json"


@dataclass(frozen=True)
class Profile:
    """How long and how finely to measure; ``--quick`` trades precision for a run of about two minutes."""

    timing: StepTiming
    half_timing: StepTiming
    start_app: float  # offered deliveries/s of the app's first step
    start_relay: float  # and of the bare relay's (tens of times faster: fewer steps to its saturation)
    factor: float  # each step offers this many times the last, until one fails
    refine: int  # then this many bisections between the last good and the first failed step
    max_steps: int
    settle: float  # longest wait for a backlog to clear before the next step (it ends sooner once all is quiet)
    idle_sockets: int
    idle_observe: float  # seconds the idle sockets are watched (CPU, sockets the server drops)
    history: int
    history_reps: int


FULL = Profile(
    timing=StepTiming(warmup=1.0, measure=5.0, drain=3.0),
    half_timing=StepTiming(warmup=1.0, measure=10.0, drain=3.0),
    start_app=250.0,
    start_relay=2000.0,
    factor=2.0,
    # Four bisections put saturation within about 4.5 % (two gave 19 %, coarser than the margins it is judged by).
    refine=4,
    max_steps=12,
    settle=60.0,
    idle_sockets=1000,
    idle_observe=12.0,
    history=1000,
    history_reps=20,
)
# Shorter steps a doubling apart, no bisection: the same scenarios in about two minutes.
QUICK = dataclasses.replace(
    FULL,
    timing=StepTiming(warmup=0.3, measure=1.0, drain=0.7),
    half_timing=StepTiming(warmup=0.3, measure=2.0, drain=0.7),
    start_app=300.0,
    start_relay=8000.0,
    refine=0,
    max_steps=10,
    settle=20.0,
    idle_observe=4.0,
    history_reps=5,
)


@dataclass(frozen=True)
class Limits:
    p99_ms: float = 500.0
    min_delivered: float = 0.99


@dataclass(frozen=True)
class LoadScenario:
    key: str
    rooms: int
    members: int

    @property
    def title(self) -> str:
        return f"{self.rooms} room{'s' if self.rooms > 1 else ''} x {self.members}"


LOAD_SCENARIOS = (LoadScenario("1x10", 1, 10), LoadScenario("1x50", 1, 50), LoadScenario("20x10", 20, 10))
SCENARIO_KEYS = (*(s.key for s in LOAD_SCENARIOS), "idle", "history")


# --- the ramp --------------------------------------------------------------------------------------


@dataclass
class RampOutcome:
    steps: list[StepResult] = field(default_factory=list)
    saturation: StepResult | None = None
    first_failed: StepResult | None = None
    half: StepResult | None = None
    sends: int = 0
    acks: int = 0
    lost_messages: int = 0
    lost_deliveries: int = 0
    duplicates: int = 0
    sockets_closed: int = 0
    errors: dict[str, int] = field(default_factory=dict)


Log = Callable[[str], None]


def step_line(label: str, step: StepResult, good: bool) -> str:
    cpu = " ".join(f"{name} {value:.0f}%" for name, value in step.cpu_percent.items())
    p99 = "-" if step.p99_ms is None else f"{step.p99_ms:.1f}"
    p50 = "-" if step.p50_ms is None else f"{step.p50_ms:.1f}"
    errors = f" errors {step.errors}" if step.errors else ""
    if step.sockets_closed:
        errors += f" sockets closed {step.sockets_closed}"
    return (
        f"    {label:>5} offered {step.offered_deliveries_per_s:>8.0f}/s  got {step.achieved_deliveries_per_s:>8.0f}/s"
        f"  delivered {100 * step.delivered_ratio:6.2f}%  p50 {p50:>7} p99 {p99:>7} ms  cpu: {cpu}"
        f"  {'ok' if good else 'FAIL'}{errors}"
    )


async def judged_step(
    conns: Sequence[Conn],
    frames: dict[int, Frames],
    ids: ClientIds,
    tracker: Tracker,
    offered: float,
    timing: StepTiming,
    meters: dict[str, list[int]],
    settle_within: float,
    limits: Limits,
) -> StepResult:
    """One step once the last one's backlog has cleared, marked good if it kept within ``limits``."""
    await settle(tracker, settle_within)
    result = await run_step(conns, frames, ids, tracker, offered, timing, meters)
    result.good = result.within(limits.p99_ms, limits.min_delivered)
    return result


async def ramp(
    conns: Sequence[Conn],
    rooms: Sequence[RoomPlan],
    tracker: Tracker,
    profile: Profile,
    limits: Limits,
    meters: Callable[[], dict[str, list[int]]],
    log: Log,
    start: float,
    blocks: int = 1,
) -> RampOutcome:
    """Double the offered load until a step fails, bisect, then measure latency at half of saturation."""
    frames = frames_for(conns, rooms, blocks)
    ids = ClientIds()
    outcome = RampOutcome()

    async def step(offered: float, timing: StepTiming, label: str) -> StepResult:
        result = await judged_step(conns, frames, ids, tracker, offered, timing, meters(), profile.settle, limits)
        outcome.steps.append(result)
        log(step_line(label, result, result.good))
        return result

    offered = start
    for index in range(profile.max_steps):
        result = await step(offered, profile.timing, f"#{index + 1}")
        if result.good:
            outcome.saturation = result
            if outcome.first_failed is not None:
                break  # came down from a failed first step: this is the last good one
            offered *= profile.factor
        else:
            outcome.first_failed = result
            if outcome.saturation is not None or offered / profile.factor < MIN_OFFERED:
                break
            offered /= profile.factor  # even the first step failed: come down until one holds
    for _ in range(profile.refine if outcome.saturation and outcome.first_failed else 0):
        assert outcome.saturation is not None and outcome.first_failed is not None
        middle = math.sqrt(outcome.saturation.offered_deliveries_per_s * outcome.first_failed.offered_deliveries_per_s)
        result = await step(middle, profile.timing, "bisect")
        if result.good:
            outcome.saturation = result
        else:
            outcome.first_failed = result
    if outcome.saturation is not None:
        outcome.half = await step(outcome.saturation.offered_deliveries_per_s / 2, profile.half_timing, "half")
    # Whatever is still owed once nothing more arrives was lost, not late.
    await settle(tracker, profile.settle, quiet=3.0)
    outcome.sends, outcome.acks = tracker.sends, tracker.acks
    outcome.lost_messages, outcome.lost_deliveries = tracker.losses()
    for result in outcome.steps:
        result.lost_messages, result.lost_deliveries = tracker.losses(result.step)
    outcome.duplicates = tracker.duplicates
    outcome.sockets_closed = tracker.closed
    outcome.errors = dict(tracker.errors)
    return outcome


# --- scenarios --------------------------------------------------------------------------------------


def app_members(group: stack.ServerGroup, rooms: Sequence[stack.BenchRoom]) -> list[Member]:
    """One socket per member, with the member's session cookie, spread over the workers in turn."""
    members = []
    for room_index, room in enumerate(rooms):
        for slot, user in enumerate(room.members):
            n = len(members)
            members.append(
                Member(user.id, room_index, slot, group.ws_url(n), (("Cookie", user.cookie),), group.origin(n))
            )
    return members


def plans(rooms: Sequence[stack.BenchRoom]) -> list[RoomPlan]:
    return [RoomPlan(room.id, tuple(m.id for m in room.members), room.head) for room in rooms]


def relay_rooms(rooms: int, members: int) -> list[RoomPlan]:
    """The same shape for the bare relay: room UUIDs, member ids and roster heads it never checks."""
    return [
        RoomPlan(
            str(uuid.uuid4()),
            tuple(range(1 + r * members, 1 + (r + 1) * members)),
            (0, base64.b64encode(os.urandom(32)).decode("ascii")),
        )
        for r in range(rooms)
    ]


def relay_members(group: stack.ServerGroup, rooms: Sequence[RoomPlan]) -> list[Member]:
    members = []
    for room_index, room in enumerate(rooms):
        for slot, user_id in enumerate(room.member_ids):
            members.append(Member(user_id, room_index, slot, group.ws_url(0, f"/relay/{room.room_id}")))
    return members


def meters_for(group: stack.ServerGroup, database: str | None) -> Callable[[], dict[str, list[int]]]:
    """The processes whose CPU each step reports, looked up again before every step."""

    def meters() -> dict[str, list[int]]:
        found = {"server": group.pids}
        if database:
            found["postgres"] = procfs.postgres_backends(database)
        found["redis"] = procfs.redis_servers()
        found["loadgen"] = [os.getpid()]
        return found

    return meters


async def drive(
    members: Sequence[Member],
    rooms: Sequence[RoomPlan],
    wait_ready: bool,
    run: Callable[[list[Conn], Tracker], Any],
) -> Any:
    """Connect every member, start reading, hand over to ``run``, and close everything afterwards."""
    conns = await open_sockets(members, wait_ready)
    tracker = Tracker(room_sizes=[len(r.member_ids) for r in rooms])
    start_readers(conns, tracker)
    await asyncio.sleep(0.3)  # the presence frames of everyone arriving
    try:
        return await run(conns, tracker)
    finally:
        await close_sockets(conns)


async def one_step(
    members: Sequence[Member], rooms: Sequence[RoomPlan], offered: float, timing: StepTiming, settle: float = 30.0
) -> tuple[StepResult, Tracker]:
    """A single step and then a wait of up to ``settle`` for every delivery still owed (the smoke test's run)."""

    async def run(conns: list[Conn], tracker: Tracker) -> tuple[StepResult, Tracker]:
        result = await run_step(conns, frames_for(conns, rooms, 1), ClientIds(), tracker, offered, timing, {})
        await wait_until(lambda: tracker.pending <= 0, settle)
        return result, tracker

    return await drive(members, rooms, True, run)


def load_scenario(
    scenario: LoadScenario, target: str, profile: Profile, limits: Limits, log_dir: Path, options: argparse.Namespace
) -> dict[str, Any]:
    log = print
    cores = None if options.no_pin else {SERVER_CORE}
    if target == "relay":
        rooms = relay_rooms(scenario.rooms, scenario.members)
        with stack.bare_relay(log_dir, cores) as group:
            members = relay_members(group, rooms)
            outcome: RampOutcome = asyncio.run(
                drive(
                    members,
                    rooms,
                    False,
                    lambda c, t: ramp(
                        c, rooms, t, profile, limits, meters_for(group, None), log, profile.start_relay, options.blocks
                    ),
                )
            )
        return result_json(scenario, target, outcome, stored=None)
    outcome, stored = on_the_app(
        scenario,
        log_dir,
        options,
        lambda c, t, rooms, meters: ramp(c, rooms, t, profile, limits, meters, log, profile.start_app, options.blocks),
    )
    return result_json(scenario, target, outcome, stored=stored)


def on_the_app(
    scenario: LoadScenario,
    log_dir: Path,
    options: argparse.Namespace,
    run: Callable[[list[Conn], Tracker, list[RoomPlan], Callable[[], dict[str, list[int]]]], Any],
) -> tuple[Any, int]:
    """The scenario's rooms and users, the app's servers, every member connected: ``run``'s result, and how many
    envelopes the scenario's rooms hold afterwards."""
    bench_rooms = stack.make_rooms(f"b{scenario.key}-", scenario.rooms, scenario.members)
    rooms = plans(bench_rooms)
    cores = None if options.no_pin else {SERVER_CORE}
    with stack.app_servers(log_dir, options.workers, cores, server=options.app_server) as group:
        meters = meters_for(group, stack.database_name())
        result = asyncio.run(drive(app_members(group, bench_rooms), rooms, True, lambda c, t: run(c, t, rooms, meters)))
    return result, stack.stored_envelopes([r.id for r in bench_rooms])


def steady_scenario(scenario: LoadScenario, log_dir: Path, options: argparse.Namespace) -> list[StepResult]:
    """``--steady``: the same offered load, step after step, on one app server: for comparing two versions of the
    code, alternating, at one rate (a ramp's single half step says little about a change on a shared machine)."""
    limits = Limits(options.p99_ms, options.min_delivered)

    async def repeat(
        conns: list[Conn], tracker: Tracker, rooms: list[RoomPlan], meters: Callable[[], dict[str, list[int]]]
    ) -> list[StepResult]:
        frames, ids, results = frames_for(conns, rooms, options.blocks), ClientIds(), []
        for index in range(options.repeat):
            offered, timing = options.steady, FULL.half_timing
            result = await judged_step(conns, frames, ids, tracker, offered, timing, meters(), FULL.settle, limits)
            results.append(result)
            print(step_line(f"#{index + 1}", result, result.good))
        return results

    results, _ = on_the_app(scenario, log_dir, options, repeat)
    return results


def result_json(scenario: LoadScenario, target: str, outcome: RampOutcome, stored: int | None) -> dict[str, Any]:
    sat = outcome.saturation
    return {
        "scenario": scenario.key,
        "title": scenario.title,
        "server": target,
        "rooms": scenario.rooms,
        "members_per_room": scenario.members,
        "saturation_deliveries_per_s": sat.achieved_deliveries_per_s if sat else None,
        "saturation_offered_per_s": sat.offered_deliveries_per_s if sat else None,
        "saturation_reached": outcome.first_failed is not None,
        "at_saturation": asdict(sat) if sat else None,
        "at_half_saturation": asdict(outcome.half) if outcome.half else None,
        "first_failed": asdict(outcome.first_failed) if outcome.first_failed else None,
        "steps": [asdict(s) for s in outcome.steps],
        "sent": outcome.sends,
        "acked": outcome.acks if target == "app" else None,
        "stored_in_db": stored,
        "lost_messages": outcome.lost_messages,
        "lost_deliveries": outcome.lost_deliveries,
        "lost_messages_in_good_steps": sum(s.lost_messages for s in outcome.steps if s.good),
        "duplicates": outcome.duplicates,
        "sockets_closed_by_server": outcome.sockets_closed,
        "errors": outcome.errors,
    }


def idle_scenario(target: str, profile: Profile, log_dir: Path, options: argparse.Namespace) -> dict[str, Any]:
    """Memory per idle socket: RSS after a few warm-up sockets, and again with ``idle_sockets`` more.

    The sockets then sit idle (presence traffic only) while the server's CPU is read and any socket
    the server closes is counted: an idle socket must stay open.
    """
    warm, count, per_room = 10, profile.idle_sockets, 10
    cores = None if options.no_pin else {SERVER_CORE}

    async def measure(group: stack.ServerGroup, members: list[Member], rooms: list[RoomPlan]) -> dict[str, Any]:
        tracker = Tracker(room_sizes=[len(r.member_ids) for r in rooms])
        first = await open_sockets(members[:warm], target == "app")
        start_readers(first, tracker)
        await asyncio.sleep(1.0)
        before = group.rss_bytes()
        began = time.monotonic()
        rest = await open_sockets(members[warm:], target == "app", concurrency=20)
        connect_s = time.monotonic() - began
        start_readers(rest, tracker)
        await asyncio.sleep(2.0)
        after = group.rss_bytes()
        meter = procfs.CpuMeter(group.pids)
        meter.start(time.monotonic())
        await asyncio.sleep(profile.idle_observe)
        idle_cpu = meter.stop(time.monotonic())
        closed = tracker.closed
        await close_sockets(first + rest)
        return {
            "scenario": "idle",
            "server": target,
            "app_server": options.app_server,
            "sockets": count,
            "rss_before_bytes": before,
            "rss_after_bytes": after,
            "bytes_per_socket": round((after - before) / count),
            "connect_seconds": round(connect_s, 3),
            "connects_per_s": round(count / connect_s, 1),
            "idle_seconds": profile.idle_observe,
            "idle_cpu_percent": round(idle_cpu, 1),
            "sockets_closed_by_server": closed,
        }

    if target == "relay":
        rooms = relay_rooms((warm + count) // per_room, per_room)
        with stack.bare_relay(log_dir, cores) as group:
            return asyncio.run(measure(group, relay_members(group, rooms), rooms))
    bench_rooms = stack.make_rooms("bidle-", (warm + count) // per_room, per_room)
    with stack.app_servers(log_dir, options.workers, cores, server=options.app_server) as group:
        return asyncio.run(measure(group, app_members(group, bench_rooms), plans(bench_rooms)))


def history_scenario(profile: Profile, log_dir: Path, options: argparse.Namespace) -> dict[str, Any]:
    """Opening a room with ``history`` stored envelopes: the first screen (50), then every page of 100."""
    (room,) = stack.make_rooms("bhist-", 1, 10)
    stack.fill_history(room, profile.history, options.blocks)
    cores = None if options.no_pin else {SERVER_CORE}

    async def measure(group: stack.ServerGroup) -> dict[str, Any]:
        (member,) = app_members(group, [room])[:1]
        (conn,) = await open_sockets([member], wait_ready=True)
        try:
            timings = [await open_room(conn.ws, room.id) for _ in range(profile.history_reps)]
        finally:
            await close_sockets([conn])
        first = [t.first_screen_s * 1000 for t in timings]
        pages = [t.page_all_s * 1000 for t in timings]
        return {
            "scenario": "history",
            "server": "app",
            "app_server": options.app_server,
            "envelopes": profile.history,
            "repetitions": len(timings),
            "first_screen_cold_ms": round(first[0], 2),
            "first_screen_median_ms": round(statistics.median(first), 2),
            "first_screen_max_ms": round(max(first), 2),
            "page_all_cold_ms": round(pages[0], 2),
            "page_all_median_ms": round(statistics.median(pages), 2),
            "pages": timings[0].pages,
            "items": timings[0].items,
        }

    with stack.app_servers(log_dir, options.workers, cores, server=options.app_server) as group:
        return asyncio.run(measure(group))


# --- the command ---------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.relay", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short steps, coarse ramp: about two minutes")
    parser.add_argument(
        "--scenarios", default=",".join(SCENARIO_KEYS), help=f"comma-separated subset of {','.join(SCENARIO_KEYS)}"
    )
    parser.add_argument("--workers", type=int, default=1, help="app processes (all pinned to the server core)")
    parser.add_argument(
        "--app-server",
        choices=("daphne", "uvicorn"),
        default="daphne",
        help="the ASGI server the app runs under (daphne, as deployed; uvicorn to compare)",
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/securechat"),
        help="a Postgres server; the benchmark drops and recreates its own database there",
    )
    parser.add_argument(
        "--database-name", default=stack.BENCH_DATABASE, help="the database the benchmark drops and recreates"
    )
    parser.add_argument(
        "--redis-url",
        default=stack.with_redis_db(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0", stack.BENCH_REDIS_DB),
        help=f"Redis for the channel layer (default: REDIS_URL's server, database {stack.BENCH_REDIS_DB})",
    )
    parser.add_argument(
        "--redis-socket-timeout",
        type=float,
        default=0,
        help="seconds, added to the servers' REDIS_URL as socket_timeout; 0 (default) runs the app's own setting",
    )
    parser.add_argument("--blocks", type=int, default=1, help="256-byte blocks of padded payload per message")
    parser.add_argument("--p99-ms", type=float, default=Limits.p99_ms, help="a step fails above this p99 latency")
    parser.add_argument(
        "--min-delivered", type=float, default=Limits.min_delivered, help="a step fails below this delivered share"
    )
    parser.add_argument("--start-app", type=float, help="offered deliveries/s of the app's first step")
    parser.add_argument("--start-relay", type=float, help="offered deliveries/s of the bare relay's first step")
    parser.add_argument(
        "--wait-for-quiet",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help=f"before each scenario, wait up to this long for the machine to be idle (< {QUIET_PERCENT:.0f}%% busy)",
    )
    parser.add_argument(
        "--steady",
        type=float,
        metavar="DELIVERIES_PER_S",
        help="instead of the ramp: offer this load to the app in each chosen load scenario, --repeat steps of 10 s",
    )
    parser.add_argument("--repeat", type=int, default=5, help="steps of a --steady run")
    parser.add_argument("--no-pin", action="store_true", help="do not pin servers and load generator to cores")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    return parser.parse_args(argv)


def wait_for_quiet(limit_s: float, busy_below: float = QUIET_PERCENT) -> float:
    """Before a scenario, wait (up to ``limit_s``) for 3 s in a row in which the machine is nearly idle.

    On a shared machine this keeps other people's test runs out of the figures where it can; returns
    the last busy figure, which goes into the JSON either way.
    """
    deadline = time.monotonic() + limit_s
    quiet = 0
    busy = procfs.machine_busy_percent()
    while time.monotonic() < deadline:
        quiet = quiet + 1 if busy < busy_below else 0
        if quiet >= 3:
            break
        busy = procfs.machine_busy_percent()
    return round(busy, 1)


def pin_load_generator() -> bool:
    """Pin this process (the load generator) to its core; the servers get the other one via taskset."""
    available = os.sched_getaffinity(0)
    if not {SERVER_CORE, LOADGEN_CORE} <= available:
        print(f"warning: cores {SERVER_CORE} and {LOADGEN_CORE} are not both available; not pinning", file=sys.stderr)
        return False
    os.sched_setaffinity(0, {LOADGEN_CORE})
    return True


def raise_file_limit() -> None:
    """A socket is a file on both ends; 1 000 idle sockets need more than a default 1 024 files."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY else 65536, hard))


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    profile = QUICK if options.quick else FULL
    if options.start_app:
        profile = replace(profile, start_app=options.start_app)
    if options.start_relay:
        profile = replace(profile, start_relay=options.start_relay)
    limits = Limits(options.p99_ms, options.min_delivered)
    chosen = [key.strip() for key in options.scenarios.split(",") if key.strip()]
    unknown = set(chosen) - set(SCENARIO_KEYS)
    if unknown:
        raise SystemExit(f"unknown scenarios: {', '.join(sorted(unknown))}")
    if not stack.is_postgres(options.database_url):
        raise SystemExit("the benchmark runs on Postgres: pass --database-url postgres://…")
    pinned = False if options.no_pin else pin_load_generator()
    raise_file_limit()

    out: Path = options.out
    log_dir = out.parent / "logs" / time.strftime("%Y%m%d-%H%M%S")
    log_dir.mkdir(parents=True, exist_ok=True)
    database_url = stack.with_database(options.database_url, options.database_name)
    redis_url = stack.with_socket_timeout(options.redis_url, options.redis_socket_timeout)
    began = time.monotonic()
    print(f"bench: fresh database {options.database_name}, Redis {redis_url}, logs in {log_dir}")
    stack.recreate_database(database_url)
    stack.setup_django(stack.bench_env(database_url, redis_url, log_dir / "data"))
    stack.migrate()

    if options.steady:
        for scenario in LOAD_SCENARIOS:
            if scenario.key in chosen:
                print(f"{scenario.title}, app ({options.app_server}) at {options.steady:.0f} deliveries/s:")
                steady_scenario(scenario, log_dir, options)
        return 0

    results: list[dict[str, Any]] = []
    for scenario in LOAD_SCENARIOS:
        if scenario.key not in chosen:
            continue
        for target in ("relay", "app"):
            server = "bare relay (uvicorn)" if target == "relay" else f"app ({options.app_server})"
            busy = wait_for_quiet(options.wait_for_quiet) if options.wait_for_quiet else None
            print(f"{scenario.title}, {server} [{time.monotonic() - began:.0f} s]:")
            results.append(load_scenario(scenario, target, profile, limits, log_dir, options))
            results[-1]["app_server"] = options.app_server
            results[-1]["machine_busy_before_percent"] = busy
    if "idle" in chosen:
        for target in ("relay", "app"):
            busy = wait_for_quiet(options.wait_for_quiet) if options.wait_for_quiet else None
            print(f"{profile.idle_sockets} idle sockets, {target} [{time.monotonic() - began:.0f} s]:")
            results.append(idle_scenario(target, profile, log_dir, options))
            results[-1]["machine_busy_before_percent"] = busy
            print(f"    {report.idle_line(results[-1])}")
    if "history" in chosen:
        busy = wait_for_quiet(options.wait_for_quiet) if options.wait_for_quiet else None
        print(f"opening a room with {profile.history} envelopes [{time.monotonic() - began:.0f} s]:")
        results.append(history_scenario(profile, log_dir, options))
        results[-1]["machine_busy_before_percent"] = busy
        print(f"    {report.history_line(results[-1])}")

    document = report.document(
        results,
        machine=procfs.machine(),
        settings={
            "quick": options.quick,
            "workers": options.workers,
            "app_server": options.app_server,
            "pinned": pinned,
            "server_core": SERVER_CORE if pinned else None,
            "loadgen_core": LOADGEN_CORE if pinned else None,
            "blocks": options.blocks,
            "wait_for_quiet_s": options.wait_for_quiet,
            "profile": asdict(profile),
            "limits": asdict(limits),
            "database": options.database_name,
            "redis": redis_url,
            "redis_socket_timeout": options.redis_socket_timeout or None,
        },
        seconds=time.monotonic() - began,
    )
    report.write_json(document, out)
    print()
    print(report.table(document))
    print(f"\nJSON: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
