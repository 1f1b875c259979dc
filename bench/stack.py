"""The real stack for the benchmark: a fresh database, users and rooms made through the ORM, and the servers.

The app runs as in production: daphne (``tests/servers.py``'s invocation) on Postgres and Redis, DEBUG off.
Servers are pinned to one core and the load generator to the other, so the two never fight for a core
(Postgres and Redis are shared services of the machine and stay unpinned).
"""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import sys
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench import procfs

ROOT = Path(__file__).resolve().parent.parent
BENCH_DATABASE = "securechat_bench"
# A Redis database of its own: a fresh bench database reuses user ids 1, 2, …, and the channel layer's
# ``user.<id>`` groups must not meet those of a test run on the same Redis.
BENCH_REDIS_DB = 13
# Users never log in with a password here (their sockets carry a session made directly), so the
# harness stores their auth-key hash with a fast hasher instead of spending ~1 000 Argon2 runs.
FAST_HASHER = "django.contrib.auth.hashers.MD5PasswordHasher"


# --- settings and the database ----------------------------------------------------------------


def with_database(url: str, name: str) -> str:
    """``url`` pointing at database ``name`` on the same server."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def with_redis_db(url: str, db: int) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, parts.fragment))


def with_socket_timeout(url: str, seconds: float | None) -> str:
    """``url`` with redis-py's ``socket_timeout`` query argument (unchanged for None or 0)."""
    if not seconds:
        return url
    parts = urlsplit(url)
    query = "&".join(q for q in parts.query.split("&") if q and not q.startswith("socket_timeout="))
    query = "&".join(q for q in (query, f"socket_timeout={seconds:g}") if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def is_postgres(url: str) -> bool:
    return urlsplit(url).scheme in {"postgres", "postgresql", "pgsql"}


def recreate_database(url: str) -> None:
    """Drop and create the database ``url`` names, connecting to the server's ``postgres`` database."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name or name in {"postgres", "template0", "template1"}:
        raise ValueError(f"refusing to recreate database {name!r}")
    admin = with_database(url, "postgres").replace("postgres://", "postgresql://", 1)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def setup_django(env: Mapping[str, str]) -> None:
    """Configure Django in this process from ``env`` (settings are read once, at set-up)."""
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "securechat.settings")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def bench_env(database_url: str, redis_url: str, data_dir: Path) -> dict[str, str]:
    """The environment the harness and its servers share: same database, Redis, secret key (for sessions)."""
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": secrets.token_urlsafe(50),
        "CACHE_KEY_PREFIX": f"securechat-bench-{secrets.token_hex(6)}",
        "SEND_RATE_PER_MINUTE": str(10**9),
        "DEBUG": "0",
        "DATA_DIR": str(data_dir),
        "DJANGO_SETTINGS_MODULE": "securechat.settings",
    }


# --- users, rooms, envelopes (through the ORM, against whatever database Django is set up for) ------


@dataclass(frozen=True)
class BenchUser:
    id: int
    username: str
    cookie: str  # "sessionid=…", as the browser sends it


@dataclass(frozen=True)
class BenchRoom:
    id: str
    members: tuple[BenchUser, ...]
    head: tuple[int, str]  # the roster head (seq, base64 hash) every send names, as a v2 envelope does


def make_users(prefix: str, count: int) -> list[BenchUser]:
    """``count`` registered users (identity keys and all, as sign-up makes them), each signed in once."""
    from django.test import override_settings

    from chat.tests.factories import make_user, session_cookie

    users = []
    with override_settings(PASSWORD_HASHERS=[FAST_HASHER]):
        for index in range(count):
            user = make_user(f"{prefix}{index:04d}")
            users.append(BenchUser(user.pk, user.username, session_cookie(user)))
    return users


def make_room(members: Sequence[BenchUser]) -> BenchRoom:
    """A group room owned by the first member, everyone a member from its start.

    Its roster head is set in the database, with no entry behind it: the bench measures the send path, which
    reads the head and compares it with each envelope's, not the signatures a browser would check.
    """
    from chat.models import Membership, Room

    head = os.urandom(32)
    room = Room.objects.create(
        kind=Room.Kind.GROUP, policy=Room.Policy.INVITE, owner_id=members[0].id, roster_seq=0, roster_head=head
    )
    Membership.objects.bulk_create(Membership(room=room, user_id=m.id, joined_after=0) for m in members)
    return BenchRoom(str(room.id), tuple(members), (0, base64.b64encode(head).decode("ascii")))


def make_rooms(prefix: str, rooms: int, members: int) -> list[BenchRoom]:
    users = make_users(prefix, rooms * members)
    return [make_room(users[r * members : (r + 1) * members]) for r in range(rooms)]


def fill_history(room: BenchRoom, count: int, blocks: int = 1) -> None:
    """``count`` stored envelopes of the real shape (v2, naming the room's head), from the room's members in turn."""
    from django.utils import timezone

    from chat.models import Envelope

    ids = [m.id for m in room.members]
    rows = []
    for index in range(count):
        ciphertext = os.urandom(256 * blocks + 16)
        rows.append(
            Envelope(
                room_id=room.id,
                sender_id=ids[index % len(ids)],
                client_id=uuid.uuid4(),
                version=2,
                client_time=timezone.now(),
                eph_pub=os.urandom(32),
                iv=os.urandom(12),
                ciphertext=ciphertext,
                signature=os.urandom(64),
                wrap_ids=sorted(ids),
                wraps=os.urandom(40 * len(ids)),
                size=len(ciphertext),
                roster_seq=room.head[0],
                roster_hash=base64.b64decode(room.head[1]),
            )
        )
    Envelope.objects.bulk_create(rows, batch_size=500)


def stored_envelopes(room_ids: Sequence[str]) -> int:
    from chat.models import Envelope

    return Envelope.objects.filter(room_id__in=list(room_ids)).count()


def database_name() -> str:
    from django.conf import settings

    return str(settings.DATABASES["default"]["NAME"])


# --- servers ---------------------------------------------------------------------------------------


def pinned(command: Sequence[str], cores: set[int] | None) -> list[str]:
    """``command`` run on ``cores`` only (via taskset, so every thread the server starts is pinned)."""
    if not cores or shutil.which("taskset") is None:
        return list(command)
    return ["taskset", "-c", ",".join(str(c) for c in sorted(cores)), *command]


@dataclass
class ServerGroup:
    """Server processes of one kind, started together; sockets are spread over them in turn."""

    name: str
    servers: list = field(default_factory=list)  # list[tests.servers.Server]
    ws_path: str = "/ws/chat/"

    @property
    def pids(self) -> list[int]:
        return [s.process.pid for s in self.servers if s.process is not None]

    def ws_url(self, index: int, path: str | None = None) -> str:
        server = self.servers[index % len(self.servers)]
        return f"{server.ws_url}{path or self.ws_path}"

    def origin(self, index: int) -> str:
        return self.servers[index % len(self.servers)].url

    def rss_bytes(self) -> int:
        return sum(procfs.rss_bytes(pid) for pid in self.pids)

    def stop(self) -> None:
        for server in self.servers:
            server.stop()

    def logs(self) -> str:
        return "\n".join(server.log()[-4000:] for server in self.servers)


ASGI_APP = "securechat.asgi:application"
# The load generator's clients send, page and fall behind as fast as the measurement needs: no per-user or
# per-socket limit, and no bound on a socket's unsent output (bench.backpressure measures those).
UNLIMITED = {
    "SEND_RATE_PER_MINUTE": str(10**9),
    "SOCKET_HISTORY_PER_MINUTE": str(10**9),
    "SOCKET_SYNC_PER_MINUTE": str(10**9),
    "SOCKET_TYPING_PER_MINUTE": str(10**9),
    "SOCKET_UNSENT_MAX_BYTES": str(2**62),
}


def _server_env(overrides: Mapping[str, str], static_root: Path) -> dict[str, str]:
    from tests.servers import server_env

    return server_env(static_root, **overrides)


@contextmanager
def app_servers(
    log_dir: Path,
    workers: int = 1,
    cores: set[int] | None = None,
    env: Mapping[str, str] | None = None,
    server: str = "daphne",
) -> Iterator[ServerGroup]:
    """``workers`` app processes (daphne, or uvicorn to compare) on the database and Redis Django is set up for."""
    from tests.servers import Server, daphne_command, free_port

    static_root = log_dir / "static"
    static_root.mkdir(parents=True, exist_ok=True)
    server_env = _server_env({"DEBUG": "0", **UNLIMITED, **(env or {})}, static_root)
    group = ServerGroup(server)
    try:
        for index in range(workers):
            port = free_port()
            command = daphne_command(port) if server == "daphne" else uvicorn_command(ASGI_APP, port)
            log_path = log_dir / f"{server}-{index}-{port}.log"
            process = Server(command=pinned(command, cores), env=server_env, port=port, log_path=log_path)
            group.servers.append(process.start())
        yield group
    finally:
        group.stop()


def uvicorn_command(app: str, port: int) -> list[str]:
    """uvicorn as the yardstick runs it: asyncio, h11, the websockets library's sans-I/O protocol."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--loop",
        "asyncio",
        "--http",
        "h11",
        "--ws",
        "websockets-sansio",
        "--ws-per-message-deflate",
        "false",
        "--ws-max-size",
        "262144",
        "--lifespan",
        "off",
        "--no-access-log",
        "--log-level",
        "warning",
    ]


@contextmanager
def bare_relay(log_dir: Path, cores: set[int] | None = None) -> Iterator[ServerGroup]:
    """The yardstick (``bench.bare_relay``) under uvicorn: pure-Python asyncio, h11, the websockets library."""
    from tests.servers import Server, free_port

    port = free_port()
    command = uvicorn_command("bench.bare_relay:app", port)
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["PYTHONUNBUFFERED"] = "1"
    server = Server(command=pinned(command, cores), env=env, port=port, log_path=log_dir / f"uvicorn-{port}.log")
    group = ServerGroup("bare relay", [], ws_path="/relay/")
    try:
        group.servers.append(server.start())
        yield group
    finally:
        group.stop()
