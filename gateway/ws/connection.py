"""One served WebSocket: requests read in its own task, a token timer, pushes written by the flusher."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Sequence

import orjson
from starlette.websockets import WebSocket, WebSocketDisconnect

from counters import Conversation, Filter, ResourceExhausted, UserState
from gateway.compat import asgi_send
from gateway.observe import push_metrics as m
from gateway.push.hub import Hub, User
from gateway.push.outbox import Batch, Outbox
from gateway.ws import eager
from gateway.ws.close_codes import EXPIRED, INTERNAL, OVERLOADED, POLICY
from gateway.ws.ops import handle
from gateway.ws.rate_limit import TokenBucket
from gateway.ws.transport.write import abort, write_together

log = logging.getLogger("reddot")

SERVER = "reddot/0.1.0"
# Conversations per push frame: ~140 bytes each without groups, so a frame stays under 64 KiB and only
# conversations with many or long group names need a frame split again.
CONVERSATIONS_PER_FRAME = 400


class Connection:
    """One WebSocket of one user: requests in (its own task), replies and coalesced pushes out (the flusher)."""

    __slots__ = (
        "_reading", "_sending", "_stopping", "_stuck", "_task", "bucket", "close_code", "config", "counters",
        "expires", "expiries", "filters", "flusher", "hub", "last_total", "outbox", "ready", "sent_ver", "uid", "user",
        "wants_total", "ws",
    )  # fmt: skip

    def __init__(self, ws: WebSocket, uid: str, expires: float) -> None:
        state = ws.app.state
        self.ws, self.uid, self.expires = ws, uid, expires
        self.config, self.hub, self.counters = state.config, state.hub, state.counters
        self.flusher, self.expiries = state.flusher, state.expiries
        self.user: User | None = None
        self.outbox = Outbox()
        self.ready = False  # pushes start after the welcome frame and stop at the close
        self.wants_total = False
        self.last_total: int | None = None
        self.filters: dict[Filter, int] = {}  # subscribed filter -> last total sent
        self.sent_ver = -1
        self.close_code: int | None = None
        self.bucket = TokenBucket(self.config.ops_per_second)
        self._task: asyncio.Task[object] | None = None
        self._reading = self._stopping = self._stuck = False
        self._sending: asyncio.Task[None] | None = None  # the rest of a send that found the socket paused

    # Listener of the hub
    def changed(self, total: bool, conversations: Sequence[str], published_ms: int | None) -> None:
        """The hub applied a change: mark what to push; the flush reads the values."""
        if self.ready:
            wants_total = total and self.wants_total
            filters = bool(self.filters) and (total or bool(conversations))
            coalesced = self.outbox.push(wants_total, filters, conversations, published_ms)
            if coalesced:
                m.PUSH.coalesced += coalesced
            if wants_total or filters or conversations:
                self.flusher.mark(self)

    async def run(self) -> None:
        """Serve the connection until the client leaves or something decides to close it."""
        hub: Hub = self.hub
        self._task = asyncio.current_task()
        try:
            try:
                self.user = await hub.attach(self.uid, self)
            except TimeoutError:  # Redis is away or failing over: nothing to serve yet (attach let go)
                log.warning("the counts of %s did not load in time; closing with 1013", self.uid)
                self.close_code = OVERLOADED
            if self.user is not None:
                async with asyncio.timeout(self.config.send_deadline_seconds):
                    await self.ws.send_text(self._encode({"type": "welcome", "user": self.uid,
                                                          "ver": self.user.state.ver, "server": SERVER}))  # fmt: skip
                self.ready = self._reading = True
                self.expiries.add(self, self.expires)
                await self._read()
        except asyncio.CancelledError:
            # Our own interruption (_stop) is consumed so the close below can still wait; any other goes on.
            if not self._stopping or (self._task is not None and self._task.uncancel() > 0):
                raise
        except Exception:
            log.exception("a WebSocket request failed")
            self.close_code = INTERNAL
        finally:
            self.ready = self._reading = False
            self.expiries.discard(self, self.expires)
            if self._sending is not None:
                self._sending.cancel()
            self.flusher.forget(self)
            if self.user is not None:
                hub.detach(self.user, self)
            self._task = None  # the task refers to this connection: no cycle left for the collector
        if self.close_code is not None:
            m.CLOSES.labels(str(self.close_code)).inc()
            closed = False
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1):
                    await self.ws.close(self.close_code)
                    closed = True
            if self._stuck or not closed:
                # A graceful close waits to flush to a client that does not read: the socket and its
                # unsent bytes would stay forever, past every connection cap.
                abort(asgi_send(self.ws))

    def _stop(self, code: int | None) -> None:
        """End the connection from outside the reader (token expiry, a stuck or failed send): interrupt its wait.

        `code` None: the client is gone, nothing to close with.
        """
        if self.close_code is None:
            self.close_code = code
        self.ready = False
        if self._reading and not self._stopping and self._task is not None:
            self._stopping = True
            self._task.cancel()

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
            if self.ready:
                self.flusher.mark(self)

    # Called by the flusher
    def flush(self) -> None:
        """Write everything pending now; a send that finds the socket paused finishes in a task, under a deadline."""
        if not self.ready or self._sending is not None:
            return  # closed, or still sending: the end of that send flushes again
        batch = self.outbox.take()
        texts = self._frames(batch)
        if texts:
            try:
                if write_together(asgi_send(self.ws), texts):
                    m.PUSH.writes += 1
                    rest = None
                else:
                    rest = eager.start(self._send_all(texts))
            except (WebSocketDisconnect, RuntimeError, OSError):
                self._stop(None)
                return
            if rest is not None:  # the socket is paused: the rest of the send runs in a task, under the deadline
                task = self._sending = asyncio.create_task(rest)
                deadline = asyncio.get_running_loop().call_later(self.config.send_deadline_seconds, task.cancel)
                task.add_done_callback(functools.partial(self._sent, deadline))
        if batch.oldest_ms is not None:
            m.PUSH.observe_lag(max(0.0, time.time() - batch.oldest_ms / 1000))

    def fail(self) -> None:
        """A bug while flushing: close with 1011."""
        self._stop(INTERNAL)

    def _sent(self, deadline: asyncio.TimerHandle, task: asyncio.Task[None]) -> None:
        """A send that had to wait ended: flush what came meanwhile, or close."""
        deadline.cancel()
        if task.cancelled():
            if self.ready:  # the deadline, not our own close: stuck past it, closed rather than buffered
                self._stuck = True
                self._stop(POLICY)
            return
        error = task.exception()
        if isinstance(error, (OSError, RuntimeError)):  # uvicorn's ClientDisconnected is an OSError
            self._stop(None)  # the client is gone
            return
        if error is not None:
            log.error("a paused send failed", exc_info=error)
            self._stop(INTERNAL)
            return
        self._sending = None
        if self.ready and not self.outbox.empty:
            self.flusher.mark(self)

    async def _send_all(self, texts: list[str]) -> None:
        # Straight to the server's ASGI send (Starlette's WebSocket adds only checks the flush has
        # made): per frame this is the hot path. A gone client raises OSError (uvicorn's ClientDisconnected).
        send = asgi_send(self.ws)
        for text in texts:
            await send({"type": "websocket.send", "text": text})
            m.PUSH.writes += 1

    def _frames(self, batch: Batch) -> list[str]:
        """The frames of one batch: replies in order, then the conversations, the total and the filters."""
        texts = [self._encode(frame) for frame in batch.replies]
        m.PUSH.frames["reply"] += len(texts)
        user = self.user
        assert user is not None
        state = user.state
        if batch.conversations:
            known = state.conversations
            convs = [(known.get(cid) or Conversation(cid)).as_dict() for cid in sorted(batch.conversations)]
            parts = [convs[i : i + CONVERSATIONS_PER_FRAME] for i in range(0, len(convs), CONVERSATIONS_PER_FRAME)]
            frames = [text for part in parts for text in self._conversation_frames(state.ver, part)]
            texts += frames
            m.PUSH.frames["conversations"] += len(frames)
        if batch.total and state.total != self.last_total:
            self.last_total = state.total
            texts.append(self._encode({"type": "total", "total": state.total, "ver": state.ver}))
            m.PUSH.frames["total"] += 1
        if batch.filters:
            for flt, last in list(self.filters.items()):
                value = state.filter_total(flt)
                if value != last:
                    self.filters[flt] = value
                    texts.append(
                        self._encode({"type": "filter", "filter": flt.as_dict(), "total": value, "ver": state.ver})
                    )
                    m.PUSH.frames["filter"] += 1
        return texts

    def _conversation_frames(self, ver: int, convs: list[dict[str, object]]) -> list[str]:
        """Conversations pushed in one frame, or in halves while it would pass Limits.frame_bytes (protocol §3)."""
        text = self._encode({"type": "conversations", "ver": ver, "conversations": convs})
        if len(convs) == 1 or (len(text) if text.isascii() else len(text.encode())) <= self.config.limits.frame_bytes:
            return [text]
        half = len(convs) // 2
        return self._conversation_frames(ver, convs[:half]) + self._conversation_frames(ver, convs[half:])

    def _encode(self, frame: dict[str, object]) -> str:
        # Frames of one connection never go back in ver (docs/protocol.md §3).
        if "ver" in frame:
            frame["ver"] = self.sent_ver = max(int(frame["ver"]), self.sent_ver)  # type: ignore[call-overload]
        return orjson.dumps(frame).decode()

    # What the request ops see of a connection (gateway/ws/ops.py, Session)
    @property
    def state(self) -> UserState:
        """The user's state as this process mirrors it."""
        assert self.user is not None, "ops run only after the hub attached the user"
        return self.user.state

    async def caught_up(self, ver: int) -> None:
        """Return once this process mirrors the user's state at `ver` or later."""
        assert self.user is not None
        await self.hub.wait_for_ver(self.user, ver)

    def want_total(self) -> int:
        """From now on push `total` when it changes; the total now."""
        self.wants_total, self.last_total = True, self.state.total
        return self.last_total

    def want_filter(self, flt: Filter) -> int:
        """From now on push this filter's total when it changes; its total now."""
        most = self.config.limits.filters_per_connection
        if flt not in self.filters and len(self.filters) >= most:
            raise ResourceExhausted(f"at most {most} filter subscriptions per connection")
        self.filters[flt] = total = self.state.filter_total(flt)
        return total

    def drop_filter(self, flt: Filter) -> None:
        """Stop pushing this filter (an unknown one is not an error)."""
        self.filters.pop(flt, None)

    def refreshed(self, expires: float) -> None:
        """A `refresh` moved the token's expiry."""
        if self.ready:
            self.expiries.discard(self, self.expires)
            self.expiries.add(self, expires)
        self.expires = expires

    def expired(self) -> None:
        """The token expired without a `refresh`: close with 4001."""
        self._stop(EXPIRED)


def _binary_refused() -> dict[str, object]:
    return {"id": None, "ok": False, "error": {"code": "invalid_argument", "message": "frames must be JSON text"}}
