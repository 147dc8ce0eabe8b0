"""Pub/sub is lossy; the snapshot path makes clients exact anyway, without reconnecting."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import httpx
from redis.asyncio import Redis
from support import SERVICE, LiveServer, base_config
from ws_support import user_token

from counters.embedded import EmbeddedValkey
from gateway.client import Client

NewId = Callable[[str], str]


async def ingest(http: httpx.AsyncClient, sender: str, to: str, first: int, count: int) -> None:
    """Send `count` C2C messages, retrying while Redis is away (ingest is idempotent)."""
    body = {
        "messages": [
            {"id": f"m{i}", "from": sender, "to": to, "timestamp": 1000 + i} for i in range(first, first + count)
        ]
    }
    for _ in range(300):  # at most ~30 s
        if (await http.post("/v1/messages", json=body)).status_code == 200:
            return
        await asyncio.sleep(0.1)  # backoff between retries, not synchronisation
    raise AssertionError("ingest never succeeded")


class TestPubSubLoss:
    async def test_killed_pubsub_connection_converges_without_reconnect(
        self, ws_gateway: LiveServer, redis: Redis, new_id: NewId
    ) -> None:
        """CLIENT KILL TYPE pubsub in the middle of a stream: the client's total still ends exact."""
        alice, bob = new_id("alice"), new_id("bob")
        async with (
            httpx.AsyncClient(base_url=ws_gateway.url, headers=SERVICE) as http,
            Client(f"{ws_gateway.ws_url}/v1/ws", user_token(alice)) as client,
        ):
            await client.get_total()
            for round_ in range(5):
                await ingest(http, bob, alice, round_ * 20, 20)
                await redis.client_kill_filter(_type="pubsub")
            await client.wait_until(lambda c: c.total == 100)
            assert client.connects == 1


class TestRedisRestart:
    async def test_server_restart_mid_stream_converges_without_reconnect(self, tmp_path: Path, new_id: NewId) -> None:
        """Valkey stops and starts again (same data dir, AOF): clients converge on the same socket."""
        alice, bob = new_id("alice"), new_id("bob")
        first = EmbeddedValkey(tmp_path / "valkey")
        url = first.start()
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        with LiveServer(base_config(url)) as gateway:
            async with (
                httpx.AsyncClient(base_url=gateway.url, headers=SERVICE) as http,
                Client(f"{gateway.ws_url}/v1/ws", user_token(alice)) as client,
            ):
                await client.get_total()
                await ingest(http, bob, alice, 0, 30)
                await client.wait_until(lambda c: c.total == 30)
                first.stop()
                second = EmbeddedValkey(tmp_path / "valkey", port=port)
                second.start()
                try:
                    await ingest(http, bob, alice, 30, 30)
                    await client.wait_until(lambda c: c.total == 60, timeout=20)
                    assert client.connects == 1
                finally:
                    second.stop()
