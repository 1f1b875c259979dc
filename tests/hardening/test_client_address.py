"""The throttles and the audit log see the client's real address: the TCP peer, or what a trusted proxy says it was,
never what the client wrote in ``X-Forwarded-For``; and only a trusted proxy can say a request came over HTTPS.

daphne runs as docker-compose.yml's ``web`` service runs it, and the proxy in front of it does to the headers what
deploy/nginx.conf says (tests/nginx_like.py). Loopback addresses stand for machines: 127.0.0.1 is a client talking
to daphne directly, the proxy connects from ``PROXY_ADDRESS`` (127.0.0.2, the one address in ``TRUSTED_PROXIES``),
and 127.0.0.3 and 127.0.0.4 are clients behind it.
"""

from __future__ import annotations

import http.client
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.sync.client import connect

from accounts.models import AuditEvent
from accounts.tests.factories import b64
from chat.tests.factories import session_cookie
from tests.hardening.roles import (  # noqa: F401 (fixtures)
    Scene,
    fast_hashing_fixture,
    fresh_layer_fixture,
    isolated_cache_fixture,
    live_scene_fixture,
)
from tests.http import BrowserSession
from tests.nginx_like import PROXY_ADDRESS, nginx_in_front
from tests.servers import Server, deployed_daphne, server_env

# Pre-login and log-in requests one address may make a minute, together, on these tests' servers.
LIMIT = 12
DIRECT = "127.0.0.1"
BEHIND_PROXY = "127.0.0.3"
ALSO_BEHIND_PROXY = "127.0.0.4"


def deployed(static_root: Path, server_logs: Path, **env: str) -> Server:
    # Counters of its own: other servers of this test run count requests from the same addresses.
    prefix = f"client-address-{uuid.uuid4().hex[:12]}"
    return deployed_daphne(
        server_env(
            static_root,
            TRUSTED_PROXIES=PROXY_ADDRESS,
            CACHE_KEY_PREFIX=prefix,
            PRELOGIN_PER_ADDRESS_PER_MINUTE=str(LIMIT),
            **env,
        ),
        server_logs,
    )


@pytest.fixture(scope="module")
def server(django_db_setup: None, static_root: Path, server_logs: Path) -> Iterator[Server]:
    with deployed(static_root, server_logs) as server:
        yield server


def forged(attempt: int) -> dict[str, str]:
    """A new address each time, as an attacker spreading guesses over made-up addresses would claim."""
    return {"X-Forwarded-For": f"203.0.113.{attempt % 250 + 1}"}


def prelogins_until_refused(client: BrowserSession, base_url: str) -> list[int]:
    """After one log-in (which counts with pre-logins), as many pre-logins as one address may make a minute, each
    claiming another address: the statuses (the last is over the limit, if the real address was counted)."""
    return [
        client.post_json(f"{base_url}/api/accounts/prelogin", {"username": f"someone{attempt}"}, forged(attempt))[0]
        for attempt in range(LIMIT)
    ]


def audited_address_of_a_failed_log_in(client: BrowserSession, base_url: str) -> list[str | None]:
    username = f"nobody-{uuid.uuid4().hex[:8]}"
    body = {"username": username, "auth_key": b64(bytes(32))}
    status, answer = client.post_json(f"{base_url}/api/accounts/login", body, forged(999))
    assert answer["error"]["code"] == "invalid_credentials", (status, answer)
    events = AuditEvent.objects.filter(action=AuditEvent.Action.LOGIN_FAILED, username=username)
    return list(events.values_list("ip_address", flat=True))


def test_a_forged_x_forwarded_for_sent_straight_to_daphne_is_ignored(transactional_db: None, server: Server) -> None:
    attacker = BrowserSession(source_address=DIRECT)
    assert audited_address_of_a_failed_log_in(attacker, server.url) == [DIRECT]
    statuses = prelogins_until_refused(attacker, server.url)
    assert statuses == [200] * (LIMIT - 1) + [429], "the throttle counted forged addresses"


def test_behind_the_proxy_the_address_it_forwards_counts_and_the_one_the_client_wrote_does_not(
    transactional_db: None, server: Server
) -> None:
    with nginx_in_front(server) as proxy:
        attacker = BrowserSession(source_address=BEHIND_PROXY)
        assert audited_address_of_a_failed_log_in(attacker, proxy.url) == [BEHIND_PROXY]
        statuses = prelogins_until_refused(attacker, proxy.url)
        assert statuses == [200] * (LIMIT - 1) + [429], "forged addresses were counted"
        # The proxy's own address was not what was counted: someone else behind it is still answered.
        neighbour = BrowserSession(source_address=ALSO_BEHIND_PROXY)
        assert neighbour.post_json(f"{proxy.url}/api/accounts/prelogin", {"username": "neighbour"})[0] == 200


def audited_address_of_a_rename_over_a_socket(scene: Scene, ws_url: str, *, source: str, name: str) -> str | None:
    """The owner renames the scene's room over a chat socket opened from ``source`` with a forged X-Forwarded-For;
    the address the audit log recorded for it."""
    owner = scene.users["owner"]
    base = ws_url.replace("ws://", "http://")
    headers = {"Cookie": session_cookie(owner), **forged(777)}
    wire = scene.chain.entry(owner, "rename", name=name)
    with connect(
        f"{ws_url}/ws/chat/", origin=base, additional_headers=headers, source_address=(source, 0), open_timeout=10
    ) as socket:
        assert json.loads(socket.recv(timeout=10))["type"] == "ready"
        socket.send(json.dumps({"op": "append", "room": str(scene.room.id), "entry": wire, "ref": name}))
        frame = json.loads(socket.recv(timeout=10))
        while frame.get("ref") != name:  # the room's events may come first
            frame = json.loads(socket.recv(timeout=10))
        assert frame["type"] == "appended", frame
    scene.chain.accept(wire, name=name)
    changed = AuditEvent.objects.filter(action=AuditEvent.Action.ROOM_CHANGED, user=owner).latest("id")
    return changed.ip_address


def test_the_audit_log_records_a_sockets_real_address_directly_and_behind_the_proxy(
    live_scene: Scene, server: Server
) -> None:
    assert audited_address_of_a_rename_over_a_socket(live_scene, server.ws_url, source=DIRECT, name="Direct") == DIRECT
    with nginx_in_front(server) as proxy:
        proxied = f"ws://127.0.0.1:{proxy.port}"
        assert audited_address_of_a_rename_over_a_socket(live_scene, proxied, source=BEHIND_PROXY, name="Proxied") == (
            BEHIND_PROXY
        )


def get(port: int, path: str, *, source: str, headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(source, 0))
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        response.read()
        return response
    finally:
        connection.close()


def test_only_the_trusted_proxy_can_say_a_request_came_over_https(
    transactional_db: None, static_root: Path, server_logs: Path
) -> None:
    with deployed(static_root, server_logs, HTTPS="1") as server, nginx_in_front(server, scheme="https") as proxy:
        # Straight to daphne, a client's "X-Forwarded-Proto: https" is not believed: plain HTTP is sent to HTTPS.
        claimed = get(server.port, "/accounts/login/", source=DIRECT, headers={"X-Forwarded-Proto": "https"})
        assert claimed.status == 301, claimed.status
        assert claimed.getheader("Location") == f"https://127.0.0.1:{server.port}/accounts/login/"
        # Through the proxy that ended TLS, the page is served, with HSTS.
        page = get(proxy.port, "/accounts/login/", source=BEHIND_PROXY)
        assert page.status == 200, page.status
        assert "max-age=31536000" in page.getheader("Strict-Transport-Security", "")
