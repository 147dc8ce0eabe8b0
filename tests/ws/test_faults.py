"""Pub/sub is lossy; the snapshot path makes clients exact anyway, without reconnecting."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
from redis.asyncio import Redis
from support import SERVICE, LiveServer, base_config
from ws_support import send_stream, user_token

from counters.embedded import EmbeddedValkey
from gateway.client import Client

NewId = Callable[[str], str]


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
                await send_stream(http, bob, alice, round_ * 20, 20)
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
                await send_stream(http, bob, alice, 0, 30)
                await client.wait_until(lambda c: c.total == 30)
                first.stop()
                second = EmbeddedValkey(tmp_path / "valkey", port=port)
                second.start()
                try:
                    await send_stream(http, bob, alice, 30, 30)
                    await client.wait_until(lambda c: c.total == 60, timeout=20)
                    assert client.connects == 1
                finally:
                    second.stop()
