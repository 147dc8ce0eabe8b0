"""What the WebSocket tests share: tokens, a raw connection with wait helpers, HTTP shortcuts."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import orjson
import pytest
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from support.gateway import JWT_SECRET

Frame = dict[str, Any]


def user_token(user: str, ttl: float = 3600) -> str:
    """An HS256 user token of the test secret."""
    return jwt.encode({"sub": user, "exp": int(time.time() + ttl)}, JWT_SECRET, algorithm="HS256")


class Raw:
    """A raw `websockets` connection with request and wait helpers."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.frames: list[Frame] = []
        self._taken: set[int] = set()

    async def request(self, op: str, rid: int | str = 1, **args: Any) -> Frame:
        """Send a request, return its reply (pushes read meanwhile are kept in `frames`)."""
        await self.ws.send(orjson.dumps({"id": rid, "op": op, **args}).decode())
        return await self.until(lambda f: f.get("id") == rid)

    async def until(self, match: Callable[[Frame], bool], timeout: float = 5) -> Frame:
        """The first frame not yet returned (already read, or arriving within `timeout`) that matches."""
        async with asyncio.timeout(timeout):
            while True:
                for index, frame in enumerate(self.frames):
                    if index not in self._taken and match(frame):
                        self._taken.add(index)
                        return frame
                self.frames.append(orjson.loads(await self.ws.recv()))

    def pushes(self, kind: str) -> list[Frame]:
        """Every push of a type read so far."""
        return [f for f in self.frames if f.get("type") == kind]


async def send_c2c(service: httpx.AsyncClient, sender: str, to: str, mid: str, ts: int, **extra: Any) -> int:
    """Ingest one C2C message through the HTTP API; returns `counted`."""
    body = {"messages": [{"id": mid, "from": sender, "to": to, "timestamp": ts, **extra}]}
    reply = await service.post("/v1/messages", json=body)
    assert reply.status_code == 200, reply.text
    return int(reply.json()["results"][0]["counted"])


async def send_stream(http: httpx.AsyncClient, sender: str, to: str, first: int, count: int) -> None:
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


async def close_code(ws: ClientConnection, timeout: float = 10) -> int | None:
    """Read until the server closes; the code it sent."""
    with pytest.raises(ConnectionClosed) as closed:
        async with asyncio.timeout(timeout):
            while True:
                await ws.recv()
    return closed.value.rcvd.code if closed.value.rcvd else None


def metric(text: str, name: str) -> float:
    """Sum of a Prometheus metric's samples in /metrics text."""
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))
