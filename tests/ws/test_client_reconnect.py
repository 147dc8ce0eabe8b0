"""gateway/client.py across reconnects: a refused upgrade is retried, and the fresh listing replaces the old one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from support.gateway import LiveServer
from support.ws import send_c2c, user_token

from counters.types import Conversation
from gateway.client import Client

NewId = Callable[[str], str]


class Front:
    """A TCP front (a proxy or load balancer) before the gateway: it can refuse upgrades, hold them, and cut links."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.refusals: list[bytes] = []  # answers to the next upgrades, instead of forwarding them
        self.refused = 0
        self.open = asyncio.Event()  # new links wait for it before reaching the gateway
        self.open.set()
        self.ws_url = ""
        self._links: list[tuple[asyncio.Future[Any], list[asyncio.StreamWriter]]] = []
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> Front:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.ws_url = f"ws://127.0.0.1:{self._server.sockets[0].getsockname()[1]}/v1/ws"
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.cut()
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def cut(self) -> None:
        """Close every open link, as a proxy restart does, and wait until nothing more is forwarded."""
        links, self._links = self._links, []
        for _, writers in links:
            for writer in writers:
                writer.close()
        await asyncio.gather(*(task for task, _ in links), return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.refusals:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(self.refusals.pop(0))
            self.refused += 1
            await writer.drain()
            writer.close()
            return
        await self.open.wait()
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        task = asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer), return_exceptions=True)
        self._links.append((task, [writer, up_writer]))
        await task


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()


@pytest.fixture
async def front(ws_gateway: LiveServer) -> AsyncIterator[Front]:
    """A front before the session gateway."""
    async with Front(ws_gateway.url) as f:
        yield f


def http_status(code: int, reason: str) -> bytes:
    """An HTTP response without a body, ending the connection."""
    return f"HTTP/1.1 {code} {reason}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode()


class TestReconnect:
    @pytest.mark.parametrize(
        "refusal",
        [http_status(502, "Bad Gateway"), http_status(503, "Service Unavailable"), http_status(403, "Forbidden"), b""],
        ids=["502", "503", "403", "no-response"],
    )
    async def test_refused_upgrades_are_retried(self, front: Front, new_id: NewId, refusal: bytes) -> None:
        """An upgrade answered with an HTTP error (or nothing) does not end reconnecting: the client comes back."""
        async with Client(front.ws_url, user_token(new_id("alice")), backoff=(0.05, 0.2)) as client:
            await client.get_total()  # its reply after the reconnect wakes wait_until
            front.refusals = [refusal, refusal]
            await front.cut()
            await client.wait_until(lambda c: c.connects == 2)
            assert (2, None) == (front.refused, client.closed_with)

    async def test_close_during_the_resync_leaves_no_failed_task(self, front: Front, new_id: NewId) -> None:
        """close() while the client re-sends its requests after a reconnect stops the reader with the session."""
        async with Client(front.ws_url, user_token(new_id("alice")), backoff=(0.05, 0.2)) as client:
            await client.get_total()
            await front.cut()
            await client.wait_until(lambda c: c.connects == 2)  # woken by get_total: the listing is still ahead

    async def test_conversation_emptied_while_away_is_reset(
        self, front: Front, service: httpx.AsyncClient, new_id: NewId
    ) -> None:
        """A conversation the fresh listing leaves out is reset to nothing stored, and on_change reports it."""
        alice, bob, mid = new_id("alice"), new_id("bob"), new_id("m")
        cid = f"c2c_{bob}"
        frames: list[dict[str, Any]] = []
        async with Client(front.ws_url, user_token(alice), backoff=(0.05, 0.2), on_change=frames.append) as client:
            await client.get_total()
            assert 1 == await send_c2c(service, bob, alice, mid, 100)
            await client.wait_until(lambda c: c.conversations.get(cid, {}).get("unread") == 1)
            front.open.clear()
            await front.cut()
            recall = await service.post(
                "/v1/messages/recall", json={"messages": [{"id": mid, "from": bob, "to": alice}]}
            )
            assert 200 == recall.status_code, recall.text
            front.open.set()
            await client.wait_until(lambda c: c.connects == 2 and c.conversations[cid]["unread"] == 0)
            assert (Conversation(cid).as_dict(), 0) == (client.conversations[cid], client.total)
            assert [Conversation(cid).as_dict()] == frames[-1]["conversations"]
