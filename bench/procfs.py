"""CPU time and memory of processes, read from /proc: the same figures `top` shows, without a dependency."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of every thread of ``pid`` so far (0 if it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    # The command name (field 2) may hold spaces; the fields after its closing parenthesis do not.
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_bytes(pid: int) -> int:
    """Resident set size of ``pid`` (0 if it is gone)."""
    try:
        pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0
    return pages * PAGE_BYTES


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _pids() -> Iterable[int]:
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            yield int(entry.name)


def postgres_backends(database: str) -> list[int]:
    """Postgres backends serving ``database``.

    A backend's process title is ``postgres: [CLUSTER: ]USER DB HOST(PORT) STATE`` (Debian puts its
    cluster name, e.g. ``15/main:``, first).
    """
    found = []
    for pid in _pids():
        words = _cmdline(pid).split()
        if not words or words[0] != "postgres:":
            continue
        words = words[1:]
        if words and words[0].endswith(":"):
            words = words[1:]
        if len(words) >= 3 and words[1] == database:
            found.append(pid)
    return found


def redis_servers() -> list[int]:
    return [pid for pid in _pids() if _comm(pid) == "redis-server"]


def machine_busy_seconds() -> float:
    """CPU time every core of the machine has spent busy so far (all processes: ours and everyone else's)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def machine_busy_percent(seconds: float = 1.0) -> float:
    """How busy the whole machine is right now, as % of one core (sleeps ``seconds``)."""
    import time

    before, began = machine_busy_seconds(), time.monotonic()
    time.sleep(seconds)
    return 100.0 * (machine_busy_seconds() - before) / (time.monotonic() - began)


def machine() -> dict[str, object]:
    """The CPU model and core count, for the report."""
    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return {"cpu_model": model, "cores": os.cpu_count(), "usable_cores": sorted(os.sched_getaffinity(0))}


@dataclass
class CpuMeter:
    """CPU used by some processes between ``start`` and ``stop``, as % of one core.

    The pids are looked up by the caller beforehand (scanning /proc takes milliseconds, which a
    load generator should not spend inside its measurement window); a process that exits in
    between simply stops adding.
    """

    pids: Sequence[int]
    _start: dict[int, float] | None = None
    _wall: float = 0.0

    def start(self, now: float) -> None:
        self._start = {pid: cpu_seconds(pid) for pid in self.pids}
        self._wall = now

    def stop(self, now: float) -> float:
        if self._start is None:
            raise RuntimeError("CpuMeter.stop before start")
        used = sum(max(cpu_seconds(pid) - self._start[pid], 0.0) for pid in self.pids)
        elapsed = max(now - self._wall, 1e-9)
        return 100.0 * max(used, 0.0) / elapsed
