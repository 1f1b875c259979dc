"""Real daphne processes for tests: the same server the product runs on, on a free port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
# Generous: a start's waits end at the first answer, however soon it comes; only a server that never answers waits
# this long.
STARTUP_SECONDS = 60.0
# Throttle counters of one test run never leak into the next on a shared Redis.
SESSION_CACHE_PREFIX = f"securechat-test-{uuid.uuid4().hex[:12]}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url(db: Mapping[str, object]) -> str:
    """The DATABASE_URL that points another process at the database ``db`` describes."""
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or ""
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    credentials = f"{user}{password}@" if user else ""
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{credentials}{db.get('HOST') or '127.0.0.1'}{port}/{db['NAME']}"


def server_env(static_root: Path, **overrides: str) -> dict[str, str]:
    """Environment for a server on the current test database and channel layer."""
    env = {key: value for key, value in os.environ.items() if key not in {"DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env.update(
        DATABASE_URL=database_url(settings.DATABASES["default"]),
        STATIC_ROOT=str(static_root),
        DEBUG="0",
        PYTHONUNBUFFERED="1",
        CACHE_KEY_PREFIX=SESSION_CACHE_PREFIX,
        # Every client of a test server comes from 127.0.0.1, so a run's sign-ups, log-ins and recoveries would
        # count as one household's; the per-address limits have tests of their own (accounts/tests/test_limits.py).
        SIGNUP_PER_ADDRESS_PER_HOUR="1000000",
        PRELOGIN_PER_ADDRESS_PER_MINUTE="1000000",
        RECOVERY_PER_ADDRESS_PER_HOUR="1000000",
    )
    env.update(overrides)
    return env


def collect_static(static_root: Path) -> None:
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env={**os.environ, "STATIC_ROOT": str(static_root)},
        check=True,
    )


@dataclass
class Server:
    """A server process started with ``command``; ``url`` answers once ``start`` returns (and /healthz says 200,
    when ``healthy``)."""

    command: Sequence[str]
    env: Mapping[str, str]
    port: int
    log_path: Path
    healthy: bool = False
    cwd: Path = ROOT  # the checkout whose code it runs (a benchmark compares another one)
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self) -> Server:
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            self.command, cwd=self.cwd, env=dict(self.env), stdout=log, stderr=subprocess.STDOUT
        )
        try:
            self._wait_answering()
            # A test that asked for a healthy server gets one; others decide what a 503 means.
            return self.wait_healthy() if self.healthy else self
        except BaseException:
            self.stop()
            raise

    def _wait_answering(self) -> None:
        """Asks the port until it answers, or the process exits. A poll, not a wait for daphne's "Listening" line: its
        output goes straight to its log file, which tests read right after what they do (a pipe copied to the file by a
        thread of ours would lag behind), and nothing else tells this process that another one listens."""
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2):
                    return
            except urllib.error.HTTPError:
                return  # it answers
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"server did not answer within {STARTUP_SECONDS}s:\n{self.log()}")

    def wait_healthy(self) -> Server:
        """Until /healthz says 200: the first answers of a cold server on a busy machine may still be 503.

        A poll, as the answer depends on that process's own connections to the database and Redis, which tell no one
        outside it when they are up; it ends at the first 200.
        """
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=10):
                    return self
            except OSError:  # HTTPError (503) included
                time.sleep(0.2)
        raise RuntimeError(f"server not healthy within {STARTUP_SECONDS}s:\n{self.log()}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def daphne_command(port: int, host: str = "127.0.0.1") -> list[str]:
    """The daphne invocation the Makefile uses, on ``host``:``port``."""
    return [
        sys.executable,
        "-m",
        "daphne",
        "-b",
        host,
        "-p",
        str(port),
        "--websocket-max-message-size",
        str(settings.WEBSOCKET_MAX_MESSAGE_BYTES),
        "securechat.asgi:application",
    ]


def daphne(env: Mapping[str, str], log_dir: Path, name: str = "daphne", *, healthy: bool = True) -> Server:
    """The app as the Makefile serves it; entering it returns once /healthz says 200 (once it answers at all, for a
    test of an unhealthy server: ``healthy=False``)."""
    port = free_port()
    log_path = log_dir / f"{name}-{port}.log"
    return Server(command=daphne_command(port), env=env, port=port, log_path=log_path, healthy=healthy)


def deployed_daphne(env: Mapping[str, str], log_dir: Path, name: str = "deployed") -> Server:
    """The app as docker-compose.yml's ``web`` service starts it (its command, flags and all), on a free port of
    127.0.0.1 rather than every interface; entering it returns once /healthz says 200."""
    import yaml  # a test requirement; the benchmarks import this module without it

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    command = list(compose["services"]["web"]["command"])
    port = free_port()
    command[command.index("-b") + 1] = "127.0.0.1"
    command[command.index("-p") + 1] = str(port)
    path = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', os.environ.get('PATH', ''))}"  # its `daphne`
    return Server(
        command=command, env={**env, "PATH": path}, port=port, log_path=log_dir / f"{name}-{port}.log", healthy=True
    )
