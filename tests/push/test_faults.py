"""Pub/sub is lossy; the snapshot path makes clients exact anyway, without reconnecting."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis
from support.gateway import SERVICE, LiveServer, base_config
from support.ws import close_code, metric, send_stream, user_token
from websockets.asyncio.client import connect

from counters.embedded import EmbeddedValkey
from gateway.client import Client, ReplyError
from gateway.push import hub
from loadtest.procs import free_port

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


class TestForeignEvents:
    async def test_an_unreadable_event_does_not_stop_pushes(
        self, ws_gateway: LiveServer, redis: Redis, new_id: NewId
    ) -> None:
        """Garbage on a user's channel (another publisher, a newer format): that user reloads, and every
        later change of every user still arrives on the same sockets."""
        alice, bob, carol = new_id("alice"), new_id("bob"), new_id("carol")
        async with (
            httpx.AsyncClient(base_url=ws_gateway.url, headers=SERVICE) as http,
            Client(f"{ws_gateway.ws_url}/v1/ws", user_token(alice)) as client,
            Client(f"{ws_gateway.ws_url}/v1/ws", user_token(carol)) as other,
        ):
            await client.get_total()
            await other.get_total()
            await redis.spublish(f"ev:{{u:{alice}}}", "not an event")
            await send_stream(http, bob, alice, 0, 3)
            await send_stream(http, bob, carol, 0, 2)
            await client.wait_until(lambda c: c.total == 3)
            await other.wait_until(lambda c: c.total == 2)
            assert (1, 1) == (client.connects, other.connects)


@pytest.fixture
async def lone(tmp_path: Path) -> AsyncIterator[tuple[LiveServer, Redis]]:
    """A gateway on a Valkey of its own, and an admin client of it (the tests change its role)."""
    server = EmbeddedValkey(tmp_path / "valkey")
    url = server.start()
    try:
        async with Redis.from_url(url) as admin:
            with LiveServer(base_config(url)) as gateway:
                yield gateway, admin
    finally:
        server.stop()


class TestFailover:
    async def test_masterdown_closes_1013_and_lets_go_of_the_user(
        self, lone: tuple[LiveServer, Redis], new_id: NewId, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Redis answers MASTERDOWN (a replica that lost its primary): a new connection is closed with 1013
        after the attach timeout, the process keeps no listener or subscription for it, and once Redis
        is a primary again the same user connects and gets pushes."""
        monkeypatch.setattr(hub, "ATTACH_TIMEOUT", 1.0)
        (gateway, admin), erin, bob = lone, new_id("erin"), new_id("bob")
        async with httpx.AsyncClient(base_url=gateway.url, headers=SERVICE) as http:
            await admin.config_set("replica-serve-stale-data", "no")
            await admin.replicaof("127.0.0.1", str(free_port()))  # a primary that is not there
            async with connect(f"{gateway.ws_url}/v1/ws?token={user_token(erin)}") as ws:
                code = await close_code(ws)
            online = metric((await http.get("/metrics")).text, "reddot_users_online")
            await admin.replicaof("NO", "ONE")
            async with Client(f"{gateway.ws_url}/v1/ws", user_token(erin)) as client:
                await client.get_total()
                await send_stream(http, bob, erin, 0, 2)
                await client.wait_until(lambda c: c.total == 2)
        assert (1013, 0.0) == (code, online)

    async def test_a_read_only_redis_answers_ws_writes_unavailable(
        self, lone: tuple[LiveServer, Redis], new_id: NewId
    ) -> None:
        """A write over the WebSocket while Redis is a read-only replica gets `unavailable`, as HTTP gets
        503, and the connection stays open for the next request."""
        (gateway, admin), alice, bob = lone, new_id("alice"), new_id("bob")
        async with Client(f"{gateway.ws_url}/v1/ws", user_token(alice)) as client:
            await client.get_total()
            await admin.replicaof("127.0.0.1", str(free_port()))  # stale reads on, writes refused
            with pytest.raises(ReplyError) as refused:
                await client.request("clean", conversation=f"c2c_{bob}")
            await admin.replicaof("NO", "ONE")
            total = await client.request("get_total")
            connects = client.connects
        assert ("unavailable", 0, 1) == (refused.value.code, total["total"], connects)
