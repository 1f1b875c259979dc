"""What the benchmark tests share: the stack they need, and running a benchmark command in a process of its own."""

import os
import subprocess
import sys

import pytest

from bench import stack

needs_stack = pytest.mark.skipif(
    not stack.is_postgres(os.environ.get("DATABASE_URL", "")) or not os.environ.get("REDIS_URL"),
    reason="needs DATABASE_URL on Postgres and REDIS_URL (the benchmark's stack)",
)


def run_bench(*args: str, timeout: float = 240) -> str:
    """``python -m <args>`` from the project's root; its output, once it has exited with 0."""
    done = subprocess.run(
        [sys.executable, "-m", *args], cwd=stack.ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout
