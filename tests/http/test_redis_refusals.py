"""A Redis that refuses writes for a while (maxmemory full, a full disk, loading) gives 503 and a retry, never 500."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis
from support.gateway import SERVICE, LiveServer, base_config
from support.ws import Raw, user_token
from websockets.asyncio.client import connect

from counters import EmbeddedValkey

NewId = Callable[[str], str]


@pytest.fixture
async def own_valkey(tmp_path: Path) -> AsyncIterator[tuple[LiveServer, Redis]]:
    """A gateway on a Valkey of its own, and an admin client of it (the tests fill its memory)."""
    server = EmbeddedValkey(tmp_path / "valkey")
    url = server.start()
    try:
        async with Redis.from_url(url, decode_responses=True) as admin:
            with LiveServer(base_config(url)) as gateway:
                yield gateway, admin
            await admin.config_set("maxmemory", "0")
    finally:
        server.stop()


def batch(sender: str, users: list[str], first: int) -> dict[str, object]:
    """A C2C batch: one message from `sender` to each user."""
    return {
        "messages": [{"id": f"m{first + i}", "from": sender, "to": u, "timestamp": 100} for i, u in enumerate(users)]
    }


class TestMaxmemory:
    async def test_full_memory_is_503_then_the_same_batch_converges(
        self, own_valkey: tuple[LiveServer, Redis], new_id: NewId
    ) -> None:
        """maxmemory reached (noeviction): 503 with Retry-After; with room again, the same batch counts each once."""
        gateway, admin = own_valkey
        bob, users = new_id("bob"), [new_id("u") for _ in range(50)]
        async with httpx.AsyncClient(base_url=gateway.url, headers=SERVICE) as http:
            assert 200 == (await http.post("/v1/messages", json=batch(bob, users[:1], 0))).status_code
            used = int((await admin.info("memory"))["used_memory"])
            await admin.config_set("maxmemory-policy", "noeviction")
            await admin.config_set("maxmemory", str(used - 1024))
            refused = await http.post("/v1/messages", json=batch(bob, users, 1000))
            assert (503, "unavailable", "1") == (
                refused.status_code, refused.json()["error"]["code"], refused.headers.get("retry-after")
            )  # fmt: skip
            await admin.config_set("maxmemory", "0")
            again = await http.post("/v1/messages", json=batch(bob, users, 1000))
            assert 200 == again.status_code
            totals = [(await http.get(f"/v1/users/{u}/unread")).json()["total"] for u in users]
        assert [2] + [1] * 49 == totals

    async def test_full_memory_over_websocket_is_unavailable(
        self, own_valkey: tuple[LiveServer, Redis], new_id: NewId
    ) -> None:
        """The same refusal on a WebSocket op answers `unavailable`, and the connection stays open."""
        gateway, admin = own_valkey
        alice = new_id("alice")
        async with connect(f"{gateway.ws_url}/v1/ws?token={user_token(alice)}") as ws:
            raw = Raw(ws)
            await raw.until(lambda f: f.get("type") == "welcome")
            used = int((await admin.info("memory"))["used_memory"])
            await admin.config_set("maxmemory-policy", "noeviction")
            await admin.config_set("maxmemory", str(used - 1024))
            await ws.send('{"id": 1, "op": "set_recv_opt", "conversations": ["c2c_bob"], "recv_opt": 2}')
            reply = await raw.until(lambda f: f.get("id") == 1)
            assert "unavailable" == reply["error"]["code"]
            await admin.config_set("maxmemory", "0")
            await ws.send('{"id": 2, "op": "set_recv_opt", "conversations": ["c2c_bob"], "recv_opt": 2}')
            assert (await raw.until(lambda f: f.get("id") == 2))["ok"]
