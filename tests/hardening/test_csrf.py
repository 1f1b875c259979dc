"""Requests another site makes in the user's name get nowhere: forms and APIs need the CSRF token, sockets the origin.

A page on another site can make the browser send the user's cookies with a request, but cannot read the
CSRF cookie to put the token in the request, nor make the browser lie about the Origin.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from django.test import Client
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from chat.tests.factories import session_cookie
from tests.hardening.roles import (  # noqa: F401 (fixtures)
    Scene,
    fast_hashing_fixture,
    fresh_layer_fixture,
    isolated_cache_fixture,
    live_scene_fixture,
    scene_fixture,
    snapshot,
)
from tests.hardening.test_access_matrix import (
    ALL_ROWS,
    BODIES,
    FORM,
    describe,
    is_api,
    matches,
    placeholders,
    send,
)
from tests.servers import Server

UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
# Every route once, whatever methods it takes: the CSRF check comes before the view looks at the method.
PATHS = list({row.path: row for row in ALL_ROWS}.values())
UNSAFE_ROWS = [row for row in ALL_ROWS if row.method in UNSAFE]
# A well-formed token that is not the one in the cookie.
FORGED = "A" * 64


def attempts(client: Client) -> Iterator[tuple[str, str, dict[str, str]]]:
    """The ways a cross-site request comes: without the token (any unsafe method), with a forged one, or with
    the right one (say, copied from a page) but from another origin."""
    for method in UNSAFE:
        yield method, "no token", {}
    yield "POST", "forged token", {"X-CSRFToken": FORGED}
    yield "POST", "foreign origin", {"X-CSRFToken": client.cookies["csrftoken"].value, "Origin": "https://evil.example"}


def is_csrf_refusal(response: object, path: str) -> bool:
    if response.status_code != 403:
        return False
    if path.startswith("/api/"):
        return json.loads(response.content)["error"]["code"] == "csrf_failed"
    return b'data-refusal="csrf"' in response.content  # templates/403_csrf.html


def test_unsafe_requests_without_the_token_are_refused_and_write_nothing(scene: Scene) -> None:
    """Every route (pages, APIs, console), every unsafe method, as a stranger, the owner and staff."""
    clients = {role: scene.client(role, enforce_csrf_checks=True) for role in ("anonymous", "owner", "staff")}
    for client in clients.values():
        client.get("/")  # the victim visited the app: the CSRF cookie is in the jar and goes along
    before = snapshot()
    let_through = []
    for row in PATHS:
        url = row.path.format(**placeholders(scene))
        for role, client in clients.items():
            body = BODIES[row.body](role, scene) if row.body else {}
            for method, how, headers in attempts(client):
                if is_api(url):
                    response = client.generic(method, url, json.dumps(body), "application/json", headers=headers)
                else:
                    response = client.generic(method, url, urlencode(body, doseq=True), FORM, headers=headers)
                if not is_csrf_refusal(response, url):
                    let_through.append((method, url, role, how, response.status_code))
    assert not let_through, let_through
    assert snapshot() == before, "a refused request changed the database"


def test_with_the_token_every_unsafe_request_passes_and_answers_as_the_matrix_says(scene: Scene) -> None:
    wrong = []
    for row in UNSAFE_ROWS:
        for role in ("anonymous", "owner"):
            response = send(scene, role, row, csrf=True)
            if is_csrf_refusal(response, row.path) or not matches(row.expected[role], response):
                wrong.append((row.id, role, row.expected[role], describe(response)))
    assert not wrong, wrong


# --- WebSockets against the real server ---------------------------------------------------


@pytest.fixture
def cookie(live_scene: Scene, live_daphne: Server) -> str:
    return session_cookie(live_scene.users["member"])


def test_a_real_daphne_refuses_a_socket_from_a_foreign_origin(live_daphne: Server, cookie: str) -> None:
    url = f"{live_daphne.ws_url}/ws/chat/"
    with pytest.raises(InvalidStatus) as refused:
        connect(url, origin="https://evil.example", additional_headers={"Cookie": cookie}, open_timeout=10)
    assert refused.value.response.status_code == 403
    # Without an Origin (not a browser, or one hiding it) the handshake is refused too.
    with pytest.raises(InvalidStatus) as refused:
        connect(url, additional_headers={"Cookie": cookie}, open_timeout=10)
    assert refused.value.response.status_code == 403
    # The same cookie from the app's own origin is let in: the refusals above were the origin's doing.
    with connect(url, origin=live_daphne.url, additional_headers={"Cookie": cookie}, open_timeout=10) as socket:
        assert json.loads(socket.recv(timeout=10))["type"] == "ready"
