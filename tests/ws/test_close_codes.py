"""Every close code of docs/protocol.md §3, provoked for real."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest
from support.gateway import LiveServer, base_config, token
from support.ws import Raw, close_code, user_token
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

NewId = Callable[[str], str]
Open = Callable[..., Awaitable[Raw]]


class TestAuthentication:
    async def test_missing_or_bad_token_closes_4001(self, ws_gateway: LiveServer) -> None:
        """No token, a garbage token, an expired token: 4001."""
        for query in ("", "?token=garbage", f"?token={user_token('alice', ttl=-5)}"):
            async with connect(f"{ws_gateway.ws_url}/v1/ws{query}") as ws:
                assert await close_code(ws) == 4001, query

    async def test_header_token_is_accepted(self, ws_gateway: LiveServer, new_id: NewId) -> None:
        """Authorization: Bearer works like ?token=."""
        headers = {"Authorization": f"Bearer {user_token(new_id('alice'))}"}
        async with connect(f"{ws_gateway.ws_url}/v1/ws", additional_headers=headers) as ws:
            assert '"welcome"' in str(await ws.recv())

    async def test_issuer_clock_ahead_and_a_far_expiry_are_accepted(
        self, ws_gateway: LiveServer, new_id: NewId
    ) -> None:
        """`iat` seconds in the future (an issuer's clock ahead) is no reason for 4001; an `exp` past year
        9999 is accepted too, and another connection's expiry still closes it on time."""
        alice, bob = new_id("alice"), new_id("bob")
        ahead = token(alice, iat=int(time.time()) + 30)
        endless = token(alice, ttl=10**400)
        async with (
            connect(f"{ws_gateway.ws_url}/v1/ws?token={ahead}") as first,
            connect(f"{ws_gateway.ws_url}/v1/ws?token={endless}") as second,
            connect(f"{ws_gateway.ws_url}/v1/ws?token={user_token(bob, ttl=2)}") as expiring,
        ):
            welcomes = ['"welcome"' in str(await ws.recv()) for ws in (first, second, expiring)]
            assert (await close_code(expiring, timeout=5)) == 4001
        assert [True, True, True] == welcomes

    async def test_expiry_closes_4001_unless_refreshed(self, ws_gateway: LiveServer, new_id: NewId) -> None:
        """A token that expires closes the socket; refresh moves the expiry."""
        alice = new_id("alice")
        async with (
            connect(f"{ws_gateway.ws_url}/v1/ws?token={user_token(alice, ttl=2)}") as expiring,
            connect(f"{ws_gateway.ws_url}/v1/ws?token={user_token(alice, ttl=2)}") as refreshed,
        ):
            await refreshed.send(f'{{"id": 1, "op": "refresh", "token": "{user_token(alice)}"}}')
            started = time.monotonic()
            assert await close_code(expiring) == 4001
            assert time.monotonic() - started < 5
            await refreshed.send('{"id": 2, "op": "ping"}')
            frames = [await refreshed.recv() for _ in range(3)]  # welcome, refresh reply, ping reply
            assert '"id":2' in frames[-1]


class TestLimits:
    async def test_foreign_origin_closes_4003_before_any_frame(self, ws_gateway: LiveServer, new_id: NewId) -> None:
        """A browser upgrade from another origin is closed with 4003, its first and only frame; ours opens."""
        url = f"{ws_gateway.ws_url}/v1/ws?token={user_token(new_id('alice'))}"
        async with connect(url, origin="http://evil.example") as ws:  # type: ignore[arg-type]
            with pytest.raises(ConnectionClosed) as closed:
                async with asyncio.timeout(10):
                    await ws.recv()  # a welcome here would hand a foreign page the user's data
        assert 4003 == (closed.value.rcvd.code if closed.value.rcvd else None)
        async with connect(url, origin=ws_gateway.url) as ws:  # type: ignore[arg-type]
            assert '"welcome"' in str(await ws.recv())

    async def test_too_many_connections_for_a_user_closes_4029(
        self, raw: Open, ws_gateway: LiveServer, new_id: NewId
    ) -> None:
        """The connection past max_connections_per_user (5 here) is closed with 4029."""
        alice = new_id("alice")
        for _ in range(5):
            await raw(alice)
        async with connect(f"{ws_gateway.ws_url}/v1/ws?token={user_token(alice)}") as ws:
            assert await close_code(ws) == 4029

    async def test_frame_over_64_kib_closes_1009(self, raw: Open, new_id: NewId) -> None:
        """A frame larger than 64 KiB closes the socket with 1009."""
        conn = await raw(new_id("alice"))
        await conn.ws.send('{"id": 1, "op": "ping", "pad": "' + "x" * 70_000 + '"}')
        assert await close_code(conn.ws) == 1009

    async def test_request_flood_closes_4008(self, redis_url: str, new_id: NewId) -> None:
        """More requests per second than ops_per_second: 4008."""
        with LiveServer(base_config(redis_url, ops_per_second=5)) as server:
            async with connect(f"{server.ws_url}/v1/ws?token={user_token(new_id('alice'))}") as ws:
                for i in range(30):
                    await ws.send(f'{{"id": {i}, "op": "ping"}}')
                assert await close_code(ws) == 4008

    async def test_process_connection_cap_closes_1013(self, redis_url: str, new_id: NewId) -> None:
        """Past max_connections of the process: 1013, try again later."""
        with LiveServer(base_config(redis_url, max_connections=1)) as server:
            url = f"{server.ws_url}/v1/ws?token={user_token(new_id('alice'))}"
            async with connect(url) as first, connect(url) as second:
                assert await close_code(second) == 1013
                await first.send('{"id": 1, "op": "ping"}')
                assert '"welcome"' in str(await first.recv())

    async def test_shutdown_closes_1012(self, redis_url: str, new_id: NewId) -> None:
        """Stopping the gateway closes sockets with 1012 (restarting: reconnect with backoff)."""
        server = LiveServer(base_config(redis_url)).__enter__()
        ws = await connect(f"{server.ws_url}/v1/ws?token={user_token(new_id('alice'))}")
        await ws.recv()
        stopper = asyncio.get_running_loop().run_in_executor(None, server.__exit__, None, None, None)
        assert await close_code(ws) == 1012
        await stopper
