"""docker-compose.yml runs what the project runs (Docker itself cannot run on CI machines)."""

import os
import re
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import yaml
from django.conf import settings

from securechat.tests.test_settings import settings_variables
from tests.servers import ROOT, Server, free_port

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def app_services() -> list[str]:
    return [name for name, service in SERVICES.items() if service.get("build")]


@pytest.mark.parametrize("service", app_services())
def test_every_variable_an_app_service_gets_is_read_by_the_settings(service: str) -> None:
    given = set(SERVICES[service]["environment"])
    assert given <= settings_variables(), f"unknown to settings: {sorted(given - settings_variables())}"


def test_web_runs_daphne_on_the_asgi_application_on_all_interfaces() -> None:
    command = SERVICES["web"]["command"]
    assert command[0] == "daphne"
    assert command[-1] == "securechat.asgi:application"
    assert command[command.index("-b") + 1] == "0.0.0.0"
    assert command[command.index("-p") + 1] == "8000"


def test_every_daphne_command_sets_the_same_websocket_message_limit() -> None:
    limit = str(settings.WEBSOCKET_MAX_MESSAGE_BYTES)
    assert SERVICES["web"]["command"][SERVICES["web"]["command"].index("--websocket-max-message-size") + 1] == limit
    assert f"WS_MAX_MESSAGE_BYTES := {limit}" in (ROOT / "Makefile").read_text()
    assert f'"--websocket-max-message-size", "{limit}"' in (ROOT / "Dockerfile").read_text()


def test_web_waits_for_healthy_services_and_finished_migrations() -> None:
    depends = SERVICES["web"]["depends_on"]
    assert depends["db"]["condition"] == "service_healthy"
    assert depends["redis"]["condition"] == "service_healthy"
    assert depends["migrate"]["condition"] == "service_completed_successfully"
    assert SERVICES["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert "healthcheck" in SERVICES["db"] and "healthcheck" in SERVICES["redis"]


def test_image_runs_as_a_non_root_user_with_static_files_collected() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.MULTILINE)
    assert "collectstatic" in dockerfile


def interpolated(value: str) -> str:
    """Compose's ``${NAME:-default}`` as compose expands it with NAME unset."""
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", value)


def pointed_at_local_services(url: str, database: str | None = None) -> str:
    """Compose's service URL with the host (and credentials) of this machine's service."""
    parts = urlsplit(url)
    local = urlsplit(os.environ.get("DATABASE_URL" if parts.scheme.startswith("postgres") else "REDIS_URL", ""))
    path = f"/{database}" if database else local.path
    return urlunsplit((parts.scheme, local.netloc, path, "", ""))


@pytest.fixture
def scratch_database() -> Iterator[str]:
    """A fresh Postgres database on this machine, dropped afterwards."""
    if not os.environ.get("DATABASE_URL", "").startswith("postgres") or not os.environ.get("REDIS_URL"):
        pytest.skip("needs DATABASE_URL (Postgres) and REDIS_URL, as under .ci/run")
    name = f"securechat_compose_{uuid.uuid4().hex[:8]}"
    admin_url = urlunsplit(urlsplit(os.environ["DATABASE_URL"])._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield name
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_in_compose_env(service: str, env: dict[str, str], port: int, log: Path) -> Server:
    command = list(SERVICES[service]["command"])
    if "-p" in command:
        command[command.index("-p") + 1] = str(port)
    return Server(command=command, env=env, port=port, log_path=log)


def test_the_compose_commands_serve_healthz_on_postgres_and_redis(scratch_database: str, tmp_path: Path) -> None:
    compose_env = SERVICES["web"]["environment"]
    env = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        **{key: interpolated(str(value)) for key, value in compose_env.items()},
        "SECRET_KEY": "compose-test-" + uuid.uuid4().hex * 2,
        "DATABASE_URL": pointed_at_local_services(compose_env["DATABASE_URL"], scratch_database),
        "REDIS_URL": pointed_at_local_services(compose_env["REDIS_URL"]),
        "DATA_DIR": str(tmp_path),
    }
    subprocess.run(SERVICES["migrate"]["command"], cwd=ROOT, env=env, check=True, capture_output=True)
    with run_in_compose_env("web", env, free_port(), tmp_path / "web.log") as server:
        with urllib.request.urlopen(server.url + "/healthz", timeout=10) as response:
            assert response.status == 200
            assert b'"database": "ok"' in response.read()
