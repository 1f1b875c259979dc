"""Fault tests: real daphne, Postgres and Redis processes, broken on purpose while people chat in Chromium.

They need Postgres (a TCP database to cut off; the embedded SQLite file has no connection to break) and Chromium
(the same gate as the browser tests: skipped without it, an error under ``CI=true``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from conftest import CHROMIUM, chromium_path
from tests.browser.conftest import browser_type_launch_args  # noqa: F401  (Debian's Chromium, same flags)
from tests.faults.stack import REDIS_SERVER, RedisServer

FAULT_TESTS = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    fault_items = [item for item in items if FAULT_TESTS in Path(item.path).parents]
    if not fault_items:
        return
    skip = None
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        skip = (
            "fault tests need Postgres (DATABASE_URL=postgres://…): the embedded SQLite file has no connection to cut"
        )
    elif chromium_path() is None:
        if os.environ.get("CI") == "true":
            raise pytest.UsageError(f"CI=true but Chromium is missing at {CHROMIUM}: fault tests cannot run")
        skip = f"no Chromium at {CHROMIUM}"
    for item in fault_items:
        item.add_marker(pytest.mark.browser)
        if skip:
            item.add_marker(pytest.mark.skip(reason=skip))


@pytest.fixture
def redis_server(server_logs: Path) -> Iterator[RedisServer]:
    """A private redis-server on a free port (never the machine's shared Redis)."""
    if not Path(REDIS_SERVER).exists():
        pytest.skip(f"no redis-server at {REDIS_SERVER}")
    with RedisServer(server_logs) as server:
        yield server
