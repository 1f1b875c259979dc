"""Fixtures that start real servers against the test database."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import Server, collect_static, daphne, server_env


@pytest.fixture(scope="session")
def static_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("static")
    collect_static(root)
    return root


@pytest.fixture(scope="session")
def server_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("server-logs")


@pytest.fixture(scope="session")
def live_daphne(
    django_db_setup: None, django_db_blocker: object, static_root: Path, server_logs: Path
) -> Iterator[Server]:
    """One daphne process for the session, serving HTTP and WebSocket on the test database.

    Tests that put data in front of it use ``transactional_db`` so the server sees it.
    """
    with daphne(server_env(static_root), server_logs) as server:
        yield server
