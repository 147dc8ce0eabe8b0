"""Fixtures of the WebSocket and push tests: a real gateway, real `websockets` clients, the session Valkey."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from gateway.client import Client
from support.gateway import SERVICE, LiveServer, base_config
from support.ws import Raw, user_token

Frame = dict[str, Any]


@pytest.fixture(scope="session")
def ws_gateway(redis_url: str) -> Iterator[LiveServer]:
    """A gateway for the WebSocket tests (rate limit high enough for quick tests)."""
    with LiveServer(base_config(redis_url, ops_per_second=500, max_connections_per_user=5)) as server:
        yield server


@pytest.fixture
async def service(ws_gateway: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    """The IM backend's HTTP client (service key)."""
    async with httpx.AsyncClient(base_url=ws_gateway.url, headers=SERVICE) as client:
        yield client


@pytest.fixture
async def client(ws_gateway: LiveServer) -> AsyncIterator[Callable[[str], Awaitable[Client]]]:
    """Factory of started gateway.client.Client for a user; all closed at teardown."""
    started: list[Client] = []

    async def make(user: str) -> Client:
        c = await Client(ws_gateway.ws_url + "/v1/ws", user_token(user)).start()
        started.append(c)
        return c

    yield make
    for c in started:
        await c.close()


@pytest.fixture
async def raw(ws_gateway: LiveServer) -> AsyncIterator[Callable[..., Awaitable[Raw]]]:
    """Factory of raw connections: raw(user) opens one and reads the welcome."""
    opened: list[ClientConnection] = []

    async def make(user: str, **kwargs: Any) -> Raw:
        ws = await connect(f"{ws_gateway.ws_url}/v1/ws?token={user_token(user)}", **kwargs)
        opened.append(ws)
        conn = Raw(ws)
        await conn.until(lambda f: f.get("type") == "welcome")
        return conn

    yield make
    for ws in opened:
        await ws.close()
