"""/healthz answers only after using the database and the channel layer for real."""

import asyncio
import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import websockets
from django.test import Client, override_settings

from tests.servers import Server, daphne, free_port, server_env


@pytest.mark.django_db
def test_healthz_reports_database_and_channel_layer_ok(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "channel_layer": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_healthz_is_503_naming_the_channel_layer_when_redis_is_unreachable(client: Client) -> None:
    unreachable = f"redis://127.0.0.1:{free_port()}/0"
    layers = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [unreachable]}}}
    with override_settings(CHANNEL_LAYERS=layers):
        response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["database"] == "ok"
    assert body["channel_layer"].startswith("error:")


def test_healthz_is_503_naming_the_database_when_it_is_unreachable(
    static_root: Path, server_logs: Path, tmp_path: Path
) -> None:
    env = server_env(
        static_root, DATABASE_URL=f"postgres://postgres@127.0.0.1:{free_port()}/nowhere", DATA_DIR=str(tmp_path)
    )
    with daphne(env, server_logs, name="no-database", healthy=False) as server:
        with pytest.raises(urllib.error.HTTPError) as failure:
            urllib.request.urlopen(server.url + "/healthz", timeout=10)
    assert failure.value.code == 503
    body = json.loads(failure.value.read())
    assert body["status"] == "unavailable"
    assert body["database"].startswith("error:")
    assert body["channel_layer"] == "ok"


def test_healthz_stays_ok_while_the_worker_serves_chat_sockets(live_daphne: Server, transactional_db: None) -> None:
    """The probe's channel shares the worker's reads with the sockets' channels (it used to time out behind them)."""
    from chat.tests.factories import make_user, session_cookie

    cookie = session_cookie(make_user("prober"))

    async def probe_with_sockets_open() -> list[int]:
        headers = {"Cookie": cookie, "Origin": live_daphne.url}
        async with websockets.connect(f"{live_daphne.ws_url}/ws/chat/", additional_headers=headers) as socket:
            assert json.loads(await asyncio.wait_for(socket.recv(), 10))["type"] == "ready"
            statuses = []
            for _ in range(3):
                statuses.append(await asyncio.to_thread(status_of, live_daphne.url + "/healthz"))
            return statuses

    assert asyncio.run(probe_with_sockets_open()) == [200, 200, 200]


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=15) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
