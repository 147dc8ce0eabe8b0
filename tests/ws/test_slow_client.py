"""A client that stops reading: gateway memory stays flat, and it gets the latest values when it reads again."""

from __future__ import annotations

import re
import socket
from collections.abc import Callable

import httpx
import orjson
from support import SERVICE, LiveServer
from websockets.asyncio.client import connect
from ws_support import user_token

NewId = Callable[[str], str]
CHANGES = 10_000
SENDERS = 20


def rss_bytes() -> int:
    """Resident memory of this process (the gateway runs in a thread of it)."""
    with open("/proc/self/status") as status:
        return int(re.search(r"VmRSS:\s+(\d+) kB", status.read()).group(1)) * 1024  # type: ignore[union-attr]


def metric(text: str, name: str) -> float:
    """Sum of a Prometheus metric's samples in /metrics text."""
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))


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
