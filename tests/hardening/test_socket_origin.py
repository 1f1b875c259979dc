"""A page of another origin cannot open the user's chat socket, even on the same host: the origin is the scheme, the
host and the port, as the handshake reached the site (through a trusted proxy, as that proxy says it was reached).

Each attack is a handshake with the member's session cookie, as her browser would send it for a page of that origin;
the same cookie from the right origin is let in, so each refusal is the origin's doing. daphne runs as compose runs
it, and the proxy in front of it does what deploy/nginx.conf says (tests/nginx_like.py).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from chat.tests.factories import session_cookie
from tests.hardening.roles import (  # noqa: F401 (fixtures)
    Scene,
    fast_hashing_fixture,
    fresh_layer_fixture,
    isolated_cache_fixture,
    live_scene_fixture,
)
from tests.nginx_like import PROXY_ADDRESS, nginx_in_front
from tests.servers import Server, deployed_daphne, server_env

LISTED_ORIGIN = "https://chat.example.org"


@pytest.fixture(scope="module")
def server(django_db_setup: None, static_root: Path, server_logs: Path) -> Iterator[Server]:
    env = server_env(
        static_root,
        TRUSTED_PROXIES=PROXY_ADDRESS,
        CSRF_TRUSTED_ORIGINS=LISTED_ORIGIN,
        CACHE_KEY_PREFIX=f"socket-origin-{uuid.uuid4().hex[:12]}",
    )
    with deployed_daphne(env, server_logs) as server:
        yield server


@pytest.fixture
def cookie(live_scene: Scene) -> str:
    return session_cookie(live_scene.users["member"])


def refused(url: str, origin: str, cookie: str, headers: dict[str, str] | None = None) -> bool:
    """Whether the handshake is refused with 403 (a socket that opens is closed again)."""
    try:
        with connect(url, origin=origin, additional_headers={"Cookie": cookie, **(headers or {})}, open_timeout=10):
            return False
    except InvalidStatus as refusal:
        assert refusal.response.status_code == 403, refusal.response.status_code
        return True


def opens_the_chat(url: str, origin: str, cookie: str) -> bool:
    with connect(url, origin=origin, additional_headers={"Cookie": cookie}, open_timeout=10) as socket:
        return json.loads(socket.recv(timeout=10))["type"] == "ready"


def test_a_page_on_another_port_or_scheme_of_the_same_host_cannot_open_the_users_socket(
    server: Server, cookie: str
) -> None:
    url = f"{server.ws_url}/ws/chat/"
    other_port = server.port + 1 if server.port < 65535 else server.port - 1
    for origin in (
        f"http://127.0.0.1:{other_port}",  # another app on the same host
        "http://127.0.0.1",  # the same host on port 80
        f"https://127.0.0.1:{server.port}",  # the right port, the wrong scheme
        f"http://localhost:{server.port}",  # another host name for the same machine
    ):
        assert refused(url, origin, cookie), f"a page of {origin} opened the socket"
    # A client cannot talk itself into https: the header is believed from the trusted proxy only.
    assert refused(url, f"https://127.0.0.1:{server.port}", cookie, {"X-Forwarded-Proto": "https"})
    assert opens_the_chat(url, server.url, cookie)


def test_behind_a_proxy_that_ended_tls_only_the_https_origin_opens_the_socket(server: Server, cookie: str) -> None:
    with nginx_in_front(server, scheme="https") as proxy:
        url = f"ws://127.0.0.1:{proxy.port}/ws/chat/"
        assert refused(url, f"http://127.0.0.1:{proxy.port}", cookie), "an http page opened the https site's socket"
        assert refused(url, f"https://127.0.0.1:{server.port}", cookie), "the port behind the proxy is not the site's"
        assert opens_the_chat(url, f"https://127.0.0.1:{proxy.port}", cookie)


def test_an_origin_listed_in_csrf_trusted_origins_opens_the_socket_and_no_other(server: Server, cookie: str) -> None:
    url = f"{server.ws_url}/ws/chat/"
    for origin in ("https://evil.example", "http://chat.example.org", "https://chat.example.org:8443"):
        assert refused(url, origin, cookie), f"a page of {origin} opened the socket"
    assert opens_the_chat(url, LISTED_ORIGIN, cookie)
