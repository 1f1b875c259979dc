"""``python -m bench.hashing`` runs against the real Postgres and Redis and prints a row for each phase.

No timing is asserted; the figures are the command's business (docs/PERFORMANCE.md, "Password hashing under load").
"""

from tests.bench.commands import needs_stack, run_bench

pytestmark = needs_stack


def test_each_phase_gets_a_row() -> None:
    output = run_bench("bench.hashing", "--seconds", "1", "--clients", "1", "--rooms", "1", timeout=180)
    rows = [line for line in output.splitlines() if line.startswith("| working tree |")]
    assert [row.split(" | ")[1] for row in rows] == ["quiet", "1 clients signing up"]
