"""Keepalive pings: healthy clients stay, silent ones are closed with 1011, and a crowd that connected
together is not pinged together."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Iterator

import pytest
from support.gateway import LiveServer, base_config
from support.ws import user_token
from websockets.asyncio.client import connect
from websockets.client import ClientProtocol
from websockets.frames import Close, Frame, Opcode
from websockets.http11 import Response
from websockets.uri import parse_uri

INTERVAL, TIMEOUT = 0.6, 0.5


@pytest.fixture(scope="module")
def pinging(redis_url: str) -> Iterator[LiveServer]:
    """A gateway that pings every 0.6 s and waits 0.5 s for the pong."""
    config = base_config(redis_url, ping_interval_seconds=INTERVAL, ping_timeout_seconds=TIMEOUT)
    with LiveServer(config) as server:
        yield server


class Silent:
    """A WebSocket client that reads frames but never answers a ping (its pongs are never sent)."""

    def __init__(self, url: str) -> None:
        self.proto = ClientProtocol(parse_uri(url))
        self.url = url
        self.pending: deque[Frame | Response] = deque()

    async def open(self) -> Silent:
        """Connect and finish the handshake."""
        uri = parse_uri(self.url)
        self.reader, self.writer = await asyncio.open_connection(uri.host, uri.port)
        self.proto.send_request(self.proto.connect())
        self.writer.write(b"".join(self.proto.data_to_send()))
        assert isinstance(await self._next(), Response)
        return self

    async def _next(self) -> Frame | Response | None:
        """The next event: the handshake response, a frame, or None at the end of the stream."""
        while not self.pending:
            data = await self.reader.read(65536)
            if not data:
                return None
            self.proto.receive_data(data)
            self.pending.extend(self.proto.events_received())  # type: ignore[arg-type]
        return self.pending.popleft()

    async def first(self, opcode: Opcode) -> tuple[float, Frame]:
        """When the first frame with `opcode` arrived, and the frame."""
        while True:
            event = await self._next()
            assert event is not None, f"the stream ended before a {opcode.name} frame"
            if isinstance(event, Frame) and event.opcode == opcode:
                return time.monotonic(), event

    def close(self) -> None:
        """Drop the TCP connection."""
        self.writer.close()


def ws_url(server: LiveServer, user: str) -> str:
    return f"{server.ws_url}/v1/ws?token={user_token(user)}"


async def test_a_client_that_never_answers_pings_is_closed_with_1011(pinging: LiveServer) -> None:
    """Ping, no pong within the timeout: the gateway closes the connection (1011, keepalive)."""
    silent = await Silent(ws_url(pinging, "silent-1")).open()
    try:
        async with asyncio.timeout(INTERVAL + TIMEOUT + 5):
            pinged, _ = await silent.first(Opcode.PING)
            closed, frame = await silent.first(Opcode.CLOSE)
        assert 1011 == Close.parse(frame.data).code
        assert closed - pinged >= TIMEOUT * 0.9
    finally:
        silent.close()


async def test_a_client_that_answers_pings_stays_connected(pinging: LiveServer) -> None:
    """A normal client (it answers pings) is still served after several intervals."""
    async with connect(ws_url(pinging, "healthy-1")) as ws:
        await ws.recv()  # welcome
        deadline = time.monotonic() + 4 * INTERVAL + TIMEOUT
        while time.monotonic() < deadline:  # several pings come and are answered while we wait
            await asyncio.wait_for(ws.ping(), TIMEOUT * 4)
            await asyncio.sleep(INTERVAL / 2)
        await ws.send('{"id": 7, "op": "ping"}')
        assert '"id":7' in str(await asyncio.wait_for(ws.recv(), 5)).replace(" ", "")


async def test_connections_opened_together_are_not_pinged_together(pinging: LiveServer) -> None:
    """Twelve connections opened at once get their first ping spread over the interval, not at one instant."""
    crowd = [Silent(ws_url(pinging, f"crowd-{i}")) for i in range(12)]
    await asyncio.gather(*(c.open() for c in crowd))
    try:
        async with asyncio.timeout(INTERVAL + 5):
            times = [t for t, _ in await asyncio.gather(*(c.first(Opcode.PING) for c in crowd))]
        # Without the spread they all land within a few ms; with it, over about 0.4 of the interval.
        assert max(times) - min(times) > 0.15 * INTERVAL, times
    finally:
        for c in crowd:
            c.close()
