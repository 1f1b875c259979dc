"""The benchmark harness against the real stack (daphne, Postgres, Redis), for behaviour only.

One short step of the 1 room x 10 members scenario: every envelope sent must reach every member's socket
and be stored. No timing is asserted; the figures are ``python -m bench.relay``'s business.
"""

import asyncio
import gc
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bench import stack
from tests.bench.commands import needs_stack

pytestmark = needs_stack


def test_one_step_delivers_every_envelope_to_every_member_and_stores_it(
    transactional_db: None, server_logs: Path
) -> None:
    pytest.importorskip("websockets", reason="the load generator needs requirements-bench.txt")
    from bench.loadgen import StepTiming
    from bench.relay import app_members, one_step, plans

    rooms = stack.make_rooms("smoke-", 1, 10)
    with stack.app_servers(server_logs, env={"REDIS_URL": os.environ["REDIS_URL"]}) as group:
        step = one_step(app_members(group, rooms), plans(rooms), 100.0, StepTiming(warmup=0.2, measure=1.0, drain=5.0))
        # Its own thread and event loop: the browser tests' Playwright may already run a loop in this one.
        with ThreadPoolExecutor(max_workers=1) as thread:
            result, tracker = thread.submit(asyncio.run, step).result()

    assert result.sends > 0
    assert tracker.errors == {}
    assert tracker.losses() == (0, 0)  # every envelope reached all 10 sockets
    assert tracker.duplicates == 0
    assert tracker.closed == 0
    assert tracker.acks == tracker.sends
    assert stack.stored_envelopes([room.id for room in rooms]) == tracker.sends
    assert gc.isenabled()  # the generator holds its collections off only during a step
