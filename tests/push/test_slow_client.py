"""A client that stops reading: gateway memory stays flat, and it gets the latest values when it reads again."""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
from collections.abc import Callable

import httpx
import orjson
import psutil  # type: ignore[import-untyped]
from support.gateway import SERVICE, LiveServer, base_config
from support.ws import metric, user_token
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

NewId = Callable[[str], str]
CHANGES = 10_000
SENDERS = 20


def rss_bytes() -> int:
    """Resident memory of this process (the gateway runs in a thread of it)."""
    with open("/proc/self/status") as status:
        return int(re.search(r"VmRSS:\s+(\d+) kB", status.read()).group(1)) * 1024  # type: ignore[union-attr]


class TestSlowClient:
    async def test_stalled_reader_costs_keys_not_changes(self, ws_gateway: LiveServer, new_id: NewId) -> None:
        """10,000 changes to 20 conversations while the client reads nothing: coalesced, then exact."""
        alice = new_id("alice")
        senders = [new_id("s") for _ in range(SENDERS)]
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a tiny window, so the server feels it
        sock.connect(("127.0.0.1", int(ws_gateway.url.rsplit(":", 1)[1])))
        async with httpx.AsyncClient(base_url=ws_gateway.url, headers=SERVICE) as http:
            before_metrics = (await http.get("/metrics")).text
            async with connect(
                f"{ws_gateway.ws_url}/v1/ws?token={user_token(alice)}", sock=sock, max_queue=1, max_size=2**20
            ) as ws:
                await ws.recv()  # welcome; from here on the client reads nothing
                rss_before = rss_bytes()
                for batch in range(CHANGES // 1000):
                    messages = [
                        {
                            "id": f"m{batch}-{i}",
                            "from": senders[i % SENDERS],
                            "to": alice,
                            "timestamp": 1000 + batch * 1000 + i,
                        }
                        for i in range(1000)
                    ]
                    assert (await http.post("/v1/messages", json={"messages": messages})).status_code == 200
                grown = rss_bytes() - rss_before
                after_metrics = (await http.get("/metrics")).text
                latest: dict[str, int] = {}
                async for raw in ws:
                    frame = orjson.loads(raw)
                    for conv in frame.get("conversations", []):
                        latest[conv["id"]] = conv["unread"]
                    if len(latest) == SENDERS and all(v == CHANGES // SENDERS for v in latest.values()):
                        break
        sent = metric(after_metrics, 'reddot_ws_frames_sent_total{type="conversations"}') - metric(
            before_metrics, 'reddot_ws_frames_sent_total{type="conversations"}'
        )
        coalesced = metric(after_metrics, "reddot_ws_frames_coalesced_total") - metric(
            before_metrics, "reddot_ws_frames_coalesced_total"
        )
        assert {f"c2c_{s}": CHANGES // SENDERS for s in senders} == latest
        assert grown < 16 * 2**20, f"RSS grew by {grown / 2**20:.1f} MiB"
        assert coalesced > 0 and sent < CHANGES, (sent, coalesced)

    async def test_a_client_stuck_past_the_deadline_loses_its_socket(self, redis_url: str, new_id: NewId) -> None:
        """A client that never reads is closed at the send deadline, and its TCP connection is dropped
        then: a graceful close waits to flush to it, and would hold the socket past every cap."""
        config = base_config(redis_url, send_deadline_seconds=1, ops_per_second=1000)
        with LiveServer(config) as gateway:
            port = int(gateway.url.rsplit(":", 1)[1])
            async with connect(f"{gateway.ws_url}/v1/ws?token={user_token(new_id('alice'))}", max_queue=1) as ws:
                await ws.recv()  # welcome; from here on the client reads nothing
                mine = ws.transport.get_extra_info("sockname")[1]
                big = "x" * 60_000  # each reply echoes the id: 200 of them pass any kernel buffer
                with contextlib.suppress(TimeoutError, ConnectionClosed):
                    for i in range(200):
                        async with asyncio.timeout(1):  # the server stops reading once its replies back up
                            await ws.send(orjson.dumps({"id": f"{big}{i}", "op": "ping"}).decode())
                loop = asyncio.get_running_loop()
                deadline = loop.time() + 15
                while _server_side(port, mine):
                    assert loop.time() < deadline, "the stuck client's socket is still open on the server"
                    await asyncio.sleep(0.1)  # polling a kernel table: nothing to wait on
                ws.transport.abort()


def _server_side(port: int, peer: int) -> list[object]:
    """The gateway's end of the TCP connection from local port `peer`, if it still exists."""
    return [c for c in psutil.net_connections("tcp") if c.laddr.port == port and c.raddr and c.raddr.port == peer]
