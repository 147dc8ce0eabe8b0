"""The peer: python-socketio with AsyncRedisManager; a writer does HINCRBY + emit to the user's room."""

from __future__ import annotations

import random
import time
from urllib.parse import parse_qs

import socketio
from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from loadtest.peers._serve import frame, run


async def _healthz(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


def build(redis_url: str) -> ASGIApp:
    """A Socket.IO server: a connection joins the room named by its `user` query parameter."""
    sio = socketio.AsyncServer(async_mode="asgi", client_manager=socketio.AsyncRedisManager(redis_url))

    @sio.event  # type: ignore[untyped-decorator]
    async def connect(sid: str, environ: dict[str, str], auth: object) -> None:
        await sio.enter_room(sid, parse_qs(environ.get("QUERY_STRING", ""))["user"][0])

    app: ASGIApp = socketio.ASGIApp(sio, other_asgi_app=Starlette(routes=[Route("/healthz", _healthz)]))
    return app


class Emitter:
    """The application side: count in Redis, then emit through an external write-only manager."""

    def __init__(self, redis_url: str, users: list[str], seed: int = 7) -> None:
        self.redis = Redis.from_url(redis_url)
        self.manager = socketio.AsyncRedisManager(redis_url, write_only=True)
        self.users, self.rng = users, random.Random(seed)

    async def emit(self, n: int) -> None:
        """n changes: one HINCRBY and one emit each (the counts in one pipeline)."""
        targets = self.rng.choices(self.users, k=n)
        pipe = self.redis.pipeline(transaction=False)
        for uid in targets:
            pipe.hincrby(f"peer:{uid}", "c2c_x", 1)
        counts = await pipe.execute()
        sent = time.time()
        for uid, count in zip(targets, counts, strict=True):
            await self.manager.emit("unread", frame(uid, count, sent), room=uid)

    async def close(self) -> None:
        """Drop the connections."""
        await self.redis.aclose()


if __name__ == "__main__":
    run(build, "python-socketio + AsyncRedisManager peer server")
