"""``python -m bench.paths`` runs against the real Postgres and Redis and prints a row for every part it measures.

No timing is asserted; the figures are the command's business. It runs in a process of its own: it sets Django up
on a database it recreates itself.
"""

import importlib.util

from tests.bench.commands import needs_stack, run_bench

pytestmark = needs_stack

PARTS = ("parse: a send frame", "store: per send", "rate: one batch", "fan-out: publish and receive", "frame log:")
PARTS += ("socket write:", "gc:")
# parse 2, store 4 (three batch sizes, and a room of 100), rate 2, fan-out 4 (two frames, two ways to publish 8
# rooms), socket write 2 (Twisted's and the project's), gc 2 (in sight, frozen), frame log: autobahn's helpers with
# and without click (when it is installed, as requirements-bench.txt installs it for uvicorn), and the project's.
ROWS = 2 + 4 + 2 + 4 + 2 + 2 + (3 if importlib.util.find_spec("click") else 2)


def rows_of(*args: str) -> list[str]:
    output = run_bench("bench.paths", "--reps", "3", *args, timeout=180)
    return [line for line in output.splitlines() if line.startswith("| ") and "CPU µs" not in line]


def test_every_part_of_the_send_path_gets_a_row() -> None:
    rows = rows_of()
    assert len(rows) == ROWS
    for part in PARTS:
        assert any(row.startswith(f"| {part}") for row in rows), part


def test_parts_measures_only_the_parts_named() -> None:
    rows = rows_of("--parts", "store,rate")
    assert [row.split(":")[0] for row in rows] == ["| store"] * 4 + ["| rate"] * 2
