"""State that must hold across daphne workers lives in Redis, not in one process's memory."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from accounts.tests.factories import b64
from tests.http import BrowserSession
from tests.servers import Server, daphne, server_env

pytestmark = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL (several workers)")


@pytest.fixture
def two_workers(transactional_db: None, static_root: Path, server_logs: Path) -> Iterator[tuple[Server, Server]]:
    env = server_env(static_root)
    with daphne(env, server_logs, "worker-a") as first, daphne(env, server_logs, "worker-b") as second:
        yield first.wait_healthy(), second.wait_healthy()


def test_failed_logins_on_one_worker_throttle_the_next_attempt_on_another(two_workers: tuple[Server, Server]) -> None:
    first, second = two_workers
    attacker = BrowserSession()
    for _ in range(5):
        status, body = attacker.post_json(
            f"{first.url}/api/accounts/login", {"username": "victim", "auth_key": b64(os.urandom(32))}
        )
        assert (status, body["error"]["code"]) == (400, "invalid_credentials")
    status, body = attacker.post_json(
        f"{second.url}/api/accounts/login", {"username": "victim", "auth_key": b64(os.urandom(32))}
    )
    assert status == 429
    assert body["error"]["code"] == "rate_limited"
