"""Health checks that use the real database and channel layer, not just their settings."""

import asyncio
import secrets

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import connection

# Long enough for a cold worker's first connections on a busy machine; short enough for a load balancer.
CHECK_TIMEOUT_SECONDS = 5.0


def _query_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


async def check_database() -> None:
    """Run a query; raise if the database cannot answer."""
    await asyncio.wait_for(sync_to_async(_query_database)(), CHECK_TIMEOUT_SECONDS)


async def check_channel_layer() -> None:
    """Send a message to a fresh channel and receive it back; raise if it does not arrive."""
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer configured")
    # The default prefix: channels_redis reads one list per process for all of its channels, and a channel of
    # another prefix waits behind the sockets' reads (healthz said 503 on a busy worker).
    channel = await layer.new_channel()
    nonce = secrets.token_hex(8)
    await asyncio.wait_for(layer.send(channel, {"type": "health.ping", "nonce": nonce}), CHECK_TIMEOUT_SECONDS)
    message = await asyncio.wait_for(layer.receive(channel), CHECK_TIMEOUT_SECONDS)
    if message.get("nonce") != nonce:
        raise RuntimeError("channel layer returned a different message")


CHECKS = {"database": check_database, "channel_layer": check_channel_layer}


async def run_checks() -> dict[str, str]:
    """Return ``{"database": "ok" | "<error>", "channel_layer": ...}``."""
    results = await asyncio.gather(*(check() for check in CHECKS.values()), return_exceptions=True)
    return {
        name: "ok" if result is None else f"error: {type(result).__name__}: {result}".rstrip(": ")
        for name, result in zip(CHECKS, results, strict=True)
    }
