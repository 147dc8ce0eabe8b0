"""The limit of this stack: Starlette WebSocket + one redis-py pub/sub reader, one frame per message."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator

import orjson
from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp
from starlette.websockets import WebSocket

from loadtest.peers._serve import frame, run

PREFIX = "bare:"


async def _healthz(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


def build(redis_url: str) -> ASGIApp:
    """The forwarder: a user's sockets get every message published on `bare:<user>`, as it is."""
    sockets: dict[str, set[WebSocket]] = {}
    redis = Redis.from_url(redis_url, decode_responses=True)
    pubsub = redis.pubsub()

    async def forward() -> None:
        async for message in pubsub.listen():
            if message["type"] == "message":
                for ws in list(sockets.get(message["channel"][len(PREFIX) :], ())):
                    with contextlib.suppress(Exception):
                        await ws.send_text(message["data"])

    async def endpoint(ws: WebSocket) -> None:
        uid = ws.query_params["user"]
        await ws.accept()
        mine = sockets.setdefault(uid, set())
        if not mine:
            await pubsub.subscribe(PREFIX + uid)
        mine.add(ws)
        await ws.send_text("ready")
        try:
            while (await ws.receive())["type"] != "websocket.disconnect":
                pass
        finally:
            mine.discard(ws)
            if not mine:
                sockets.pop(uid, None)
                await pubsub.unsubscribe(PREFIX + uid)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await pubsub.subscribe(PREFIX)  # listen() ends while nothing is subscribed
        reader = asyncio.create_task(forward())
        yield
        reader.cancel()
        await redis.aclose()

    return Starlette(routes=[WebSocketRoute("/ws", endpoint), Route("/healthz", _healthz)], lifespan=lifespan)


class Emitter:
    """Publishes one message per change, pipelined."""

    def __init__(self, redis_url: str, users: list[str], seed: int = 7) -> None:
        self.redis = Redis.from_url(redis_url)
        self.users, self.rng, self.serial = users, random.Random(seed), 0

    async def emit(self, n: int) -> None:
        """n changes, each one PUBLISH of a frame-sized message."""
        sent = time.time()
        pipe = self.redis.pipeline(transaction=False)
        for uid in self.rng.choices(self.users, k=n):
            self.serial += 1
            pipe.publish(PREFIX + uid, orjson.dumps(frame(uid, self.serial, sent)))
        await pipe.execute()

    async def close(self) -> None:
        """Drop the connection."""
        await self.redis.aclose()


if __name__ == "__main__":
    run(build, "bare Starlette WebSocket forwarder")
