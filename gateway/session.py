"""`GET /v1/ws`: one connection = a reader task, a writer task and a token watchdog."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import orjson
from starlette.websockets import WebSocket, WebSocketDisconnect

from counters.errors import ReddotError
from counters.types import Conversation, Filter

from . import ws_metrics as m
from .auth import verify_user_token
from .close_codes import EXPIRED, FORBIDDEN, INTERNAL, OVERLOADED, POLICY, TOO_MANY, UNAUTHENTICATED
from .hub import Hub, User
from .outbox import Batch, Outbox
from .ws_ops import handle

SERVER = "reddot/0.1.0"
_CONV_FRAMES, _TOTAL_FRAMES = m.FRAMES_SENT.labels("conversations"), m.FRAMES_SENT.labels("total")
_FILTER_FRAMES, _REPLY_FRAMES = m.FRAMES_SENT.labels("filter"), m.FRAMES_SENT.labels("reply")


@dataclass
class Registry:
    """Connections of this process, per user, kept below the configured caps."""

    per_user: dict[str, int] = field(default_factory=dict)
    total: int = 0

    def admit(self, uid: str, max_total: int, max_per_user: int) -> int | None:
        """Count a new connection in, or return the close code that refuses it."""
        if self.total >= max_total:
            return OVERLOADED
        if self.per_user.get(uid, 0) >= max_per_user:
            return TOO_MANY
        self.per_user[uid] = self.per_user.get(uid, 0) + 1
        self.total += 1
        m.CONNECTIONS.set(self.total)
        return None

    def leave(self, uid: str) -> None:
        """Count a connection out."""
        self.per_user[uid] -= 1
        if not self.per_user[uid]:
            del self.per_user[uid]
        self.total -= 1
        m.CONNECTIONS.set(self.total)


class TokenBucket:
    """Requests allowed per second, with a burst of one second's worth."""

    def __init__(self, rate: float) -> None:
        self.rate, self.tokens, self.stamp = rate, rate, time.monotonic()

    def take(self) -> bool:
        """Spend one token if there is one."""
        now = time.monotonic()
        self.tokens = min(self.rate, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class Connection:
    """One WebSocket of one user: requests in, replies and coalesced pushes out."""

    def __init__(self, ws: WebSocket, uid: str, expires: float) -> None:
        state = ws.app.state
        self.ws, self.uid, self.expires = ws, uid, expires
        self.config, self.hub, self.counters = state.config, state.hub, state.counters
        self.user: User | None = None
        self.outbox = Outbox()
        self.ready = False  # pushes start after the welcome frame
        self.wants_total = False
        self.last_total: int | None = None
        self.filters: dict[Filter, int] = {}  # subscribed filter -> last total sent
        self.sent_ver = -1
        self.close_code: int | None = None
        self.bucket = TokenBucket(self.config.ops_per_second)
        self._refreshed = asyncio.Event()

    # Listener of the hub
    def changed(self, total: bool, conversations: Iterable[str], published_ms: int | None) -> None:
        """The hub applied a change: mark what to push; the writer reads the values."""
        if self.ready:
            conversations = list(conversations)
            filters = bool(self.filters) and (total or bool(conversations))
            coalesced = self.outbox.push(total and self.wants_total, filters, conversations, published_ms)
            if coalesced:
                m.FRAMES_COALESCED.inc(coalesced)

    async def run(self) -> None:
        """Serve the connection until the client leaves or a task decides to close it."""
        hub: Hub = self.hub
        self.user = await hub.attach(self.uid, self)
        try:
            async with asyncio.timeout(self.config.send_deadline_seconds):
                await self._send({"type": "welcome", "user": self.uid, "ver": self.user.state.ver, "server": SERVER})
            self.ready = True
            tasks = [asyncio.create_task(c) for c in (self._read(), self._write(), self._watch_token())]
            try:
                await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in tasks:
                    task.cancel()
                for task in tasks:
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
                for task in tasks:
                    if not task.cancelled() and task.exception() is not None:
                        self.close_code = INTERNAL
        finally:
            hub.detach(self.user, self)
        if self.close_code is not None:
            m.CLOSES.labels(str(self.close_code)).inc()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1):
                    await self.ws.close(self.close_code)

    async def _read(self) -> None:
        while True:
            message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            if not self.bucket.take():
                self.close_code = POLICY
                return
            await self.outbox.room()
            text = message.get("text")
            self.outbox.reply(await handle(self, text) if text is not None else _binary_refused())

    async def _write(self) -> None:
        while True:
            batch = await self.outbox.take()
            try:
                # One deadline per batch, not per frame: a send only waits while the socket is paused.
                # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancellation that races completion.
                async with asyncio.timeout(self.config.send_deadline_seconds):
                    await self._send_batch(batch)
            except TimeoutError:
                self.close_code = POLICY  # stuck past the deadline: closed, not buffered
                return
            except (WebSocketDisconnect, RuntimeError):
                return

    async def _send_batch(self, batch: Batch) -> None:
        for frame in batch.replies:
            await self._send(frame)
            _REPLY_FRAMES.inc()
        user = self.user
        assert user is not None
        state = user.state
        if batch.conversations:
            convs = [state.conversations.get(cid, Conversation(cid)).as_dict() for cid in sorted(batch.conversations)]
            await self._send({"type": "conversations", "ver": state.ver, "conversations": convs})
            _CONV_FRAMES.inc()
        if batch.total and state.total != self.last_total:
            self.last_total = state.total
            await self._send({"type": "total", "total": state.total, "ver": state.ver})
            _TOTAL_FRAMES.inc()
        if batch.filters:
            for flt, last in list(self.filters.items()):
                value = state.filter_total(flt)
                if value != last and flt in self.filters:
                    self.filters[flt] = value
                    await self._send({"type": "filter", "filter": flt.as_dict(), "total": value, "ver": state.ver})
                    _FILTER_FRAMES.inc()
        if batch.oldest_ms is not None:
            m.LAG.observe(max(0.0, time.time() - batch.oldest_ms / 1000))

    async def _send(self, frame: dict[str, object]) -> None:
        # Frames of one connection never go back in ver (PROTOCOL.md §3).
        if "ver" in frame:
            frame["ver"] = self.sent_ver = max(int(frame["ver"]), self.sent_ver)  # type: ignore[call-overload]
        await self.ws.send_text(orjson.dumps(frame).decode())

    def refreshed(self, expires: float) -> None:
        """A `refresh` moved the token's expiry."""
        self.expires = expires
        self._refreshed.set()

    async def _watch_token(self) -> None:
        while (left := self.expires - time.time()) > 0:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(left):
                    await self._refreshed.wait()
            self._refreshed.clear()
        self.close_code = EXPIRED


def _binary_refused() -> dict[str, object]:
    return {"id": None, "ok": False, "error": {"code": "invalid_argument", "message": "frames must be JSON text"}}


async def websocket_endpoint(ws: WebSocket) -> None:
    """Authenticate, admit, then serve one connection."""
    config, registry = ws.app.state.config, ws.app.state.ws_registry
    if not origin_allowed(ws.headers.get("origin"), ws.headers.get("host"), config.allowed_origins):
        await ws.close(FORBIDDEN)  # before accept: the browser sees a refused upgrade
        m.CLOSES.labels(str(FORBIDDEN)).inc()
        return
    await ws.accept()
    token = ws.query_params.get("token") or _bearer(ws.headers.get("authorization"))
    try:
        principal = verify_user_token(config, token or "")
    except ReddotError as error:
        m.CLOSES.labels(str(UNAUTHENTICATED)).inc()
        await ws.close(UNAUTHENTICATED, error.message[:120])
        return
    refused = registry.admit(principal.user, config.max_connections, config.max_connections_per_user)
    if refused is not None:
        m.CLOSES.labels(str(refused)).inc()
        await ws.close(refused)
        return
    try:
        await Connection(ws, principal.user, principal.exp).run()
    finally:
        registry.leave(principal.user)


def origin_allowed(origin: str | None, host: str | None, allowed: tuple[str, ...]) -> bool:
    """Browsers send Origin: accept same-origin, or a configured origin ('*' = any). No Origin: not a browser."""
    if origin is None or "*" in allowed or origin in allowed:
        return True
    return origin.split("://", 1)[-1] == host


def _bearer(header: str | None) -> str | None:
    if header and header.lower().startswith("bearer "):
        return header[7:].strip()
    return None
