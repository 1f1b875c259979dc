"""``python -m bench.paths`` runs against the real Postgres and Redis and prints a row for every part it measures.

No timing is asserted; the figures are the command's business. It runs in a process of its own: it sets Django up
on a database it recreates itself.
"""

import importlib.util
import os
import subprocess
import sys

import pytest

from bench import stack

pytestmark = pytest.mark.skipif(
    not stack.is_postgres(os.environ.get("DATABASE_URL", "")) or not os.environ.get("REDIS_URL"),
    reason="needs DATABASE_URL on Postgres and REDIS_URL (the benchmark's stack)",
)

PARTS = ("parse: a send frame", "store: per send", "rate: one batch", "fan-out: publish and receive", "frame log:")
PARTS += ("socket write:", "gc:")
# parse 2, store 3 (batch sizes), rate 2, fan-out 4 (two frames, two ways to publish 8 rooms), socket write 2
# (Twisted's and the project's), gc 2 (in sight, frozen), frame log: autobahn's helpers with and without click (when
# it is installed, as requirements-bench.txt installs it for uvicorn), and the project's.
ROWS = 2 + 3 + 2 + 4 + 2 + 2 + (3 if importlib.util.find_spec("click") else 2)


def test_every_part_of_the_send_path_gets_a_row() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.paths", "--reps", "3"],
        cwd=stack.ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ") and "CPU µs" not in line]
    assert len(rows) == ROWS
    for part in PARTS:
        assert any(row.startswith(f"| {part}") for row in rows), part
