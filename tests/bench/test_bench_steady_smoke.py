"""``python -m bench.relay --steady`` offers one load to the app, step after step, and prints a line per step.

No timing is asserted: a step's line must say that every delivery arrived. It runs in a process of its own (it
recreates the benchmark's database and starts its own server).
"""

import re

from tests.bench.commands import needs_stack, run_bench

pytestmark = needs_stack


def test_steady_runs_the_asked_steps_at_the_asked_load() -> None:
    output = run_bench("bench.relay", "--scenarios", "1x10", "--steady", "200", "--repeat", "2", "--no-pin")
    steps = [line for line in output.splitlines() if re.match(r"\s+#\d+ offered", line)]
    assert len(steps) == 2, output
    for line in steps:
        assert re.search(r"offered\s+200/s", line) and "delivered 100.00%" in line, line
