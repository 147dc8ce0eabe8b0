"""A tap between a gateway's pub/sub reader and its hub, to lose, batch or hold events on purpose; and the
convergence check of a connected client against a fresh snapshot."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable
from typing import Any, cast

import pytest
from starlette.applications import Starlette

from counters import keys
from counters.store import Counters
from counters.types import Conversation, UserState
from gateway.client import Client, filter_key
from gateway.params import parse_filter
from gateway.push.flusher import Flusher
from gateway.push.hub import Hub
from gateway.push.pubsub import ShardReader
from support.gateway import LiveServer

FILTERS = ({"type": 1}, {"type": 2}, {"mark": 1})
DEADLINE = 10.0  # seconds to wait for anything that must happen


class Tap:
    """Between the gateway's pub/sub reader and its hub: drops chosen events or hands a burst of them over
    at once, reports every event and every resubscribe, counts the hub's snapshot reads, and can hold one
    user's next snapshot read, next SSUBSCRIBE or the flushes until released.

    The hooks run in the server's thread; they report to the test's loop with call_soon_threadsafe.
    """

    def __init__(self, server: LiveServer) -> None:
        app = cast(Starlette, server.server.config.app)
        self.hub: Hub = app.state.hub
        self.reader: ShardReader = self.hub.readers[""]  # a standalone server: one reader
        self._loop = asyncio.get_running_loop()
        self._lock = threading.Lock()
        self._wake = asyncio.Event()
        self._drops: dict[bytes, int] = {}
        self._bursts: dict[bytes, tuple[int, list[bytes]]] = {}
        self.dropped: list[tuple[bytes, bytes]] = []
        self.passed: list[tuple[bytes, bytes]] = []
        self.resubscribes = 0
        self.held_snapshots = 0  # snapshot reads that are waiting for release()
        self.snapshot_reads: dict[str, int] = {}  # by user: reads the hub started
        self._snapshot_hold: tuple[str, concurrent.futures.Future[None]] | None = None
        self.held_subscribes = 0  # SSUBSCRIBEs that are waiting for release()
        self.held_marks: list[object] = []  # connections marked for a flush while flushes are held
        self._flusher: Flusher = app.state.flusher
        self._real_mark = self._flusher.mark
        self._server_loop = self.reader._task.get_loop() if self.reader._task else None
        self._release: concurrent.futures.Future[None] | None = None
        self._real_on_event = self.reader._on_event
        self._real_on_resubscribed = self.reader._on_resubscribed
        self._real_counters = self.hub.counters
        self._real_send = self.reader._send
        self.reader._on_event = self._on_event
        self.reader._on_resubscribed = self._on_resubscribed
        self.hub.counters = _Snapshots(self, self._real_counters)

    def remove(self) -> None:
        """Put the reader and the hub back as they were."""
        self.reader._on_event = self._real_on_event
        self.reader._on_resubscribed = self._real_on_resubscribed
        self.reader._send = self._real_send  # type: ignore[method-assign]
        if self._flusher.mark != self._real_mark:
            self.release_flushes()
        self.hub.counters = self._real_counters
        if self._release is not None and not self._release.done():
            self._release.set_result(None)

    # --- the test's side ----------------------------------------------------------------

    def drop(self, uid: str, count: int = 1) -> None:
        """Lose the next `count` events of the user."""
        with self._lock:
            self._drops[keys.events(uid).encode()] = count

    def burst(self, uid: str, count: int) -> None:
        """Hold the user's next `count` events, then hand them to the hub back to back, in one go (as the
        reader does with every event one socket read brought): no push is written between them."""
        with self._lock:
            self._bursts[keys.events(uid).encode()] = (count, [])

    def hold_next_subscribe(self, uid: str) -> None:
        """The reader's next SSUBSCRIBE of the user's channel waits for release() before it is sent."""
        release: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._release, channel, real = release, keys.events(uid).encode(), self._real_send

        async def send(*args: object) -> None:
            if args[:2] == ("SSUBSCRIBE", channel) and not release.done():
                self._tell("held_subscribes")
                await asyncio.wrap_future(release)
            await real(*args)

        self.reader._send = send  # type: ignore[method-assign]

    def hold_flushes(self) -> None:
        """Connections marked for a flush are not flushed until release_flushes(): their pushes pile up."""

        def mark(conn: object) -> None:
            with self._lock:
                self.held_marks.append(conn)
            self._tell()

        self._flusher.mark = mark  # type: ignore[method-assign]

    def release_flushes(self) -> None:
        """Flush every connection marked meanwhile (in the server's loop), and flush as usual from then on."""

        def release() -> None:
            self._flusher.mark = self._real_mark  # type: ignore[method-assign]
            with self._lock:
                marked = list(dict.fromkeys(self.held_marks))
            for conn in marked:
                self._real_mark(conn)

        assert self._server_loop is not None
        self._server_loop.call_soon_threadsafe(release)

    def hold_next_snapshot(self, uid: str) -> None:
        """The hub's next snapshot read of the user reads Redis, then waits for release() before returning."""
        self._release = concurrent.futures.Future()
        with self._lock:
            self._snapshot_hold = (uid, self._release)

    def release(self) -> None:
        """Let the held snapshot read return (with what it read before it was held), or the SSUBSCRIBE go."""
        assert self._release is not None
        self._release.set_result(None)

    def events_of(self, uid: str, seen: list[tuple[bytes, bytes]]) -> list[bytes]:
        """The payloads of one user's channel in `seen` (self.passed or self.dropped)."""
        channel = keys.events(uid).encode()
        with self._lock:
            return [payload for ch, payload in seen if ch == channel]

    async def until(self, what: str, predicate: Callable[[], bool], timeout: float = DEADLINE) -> None:
        """Wait until `predicate()` holds (re-checked at every report of the hooks), or fail."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    self._wake.clear()
                    if predicate():
                        return
                    await self._wake.wait()
        except TimeoutError:
            pytest.fail(f"the gateway did not get there within {timeout} s: {what}")

    # --- the server's side (its thread) -------------------------------------------------------

    def _snapshot_started(self, uid: str) -> concurrent.futures.Future[None] | None:
        """Count a snapshot read; the future it must wait for after reading, if it is the one to hold."""
        with self._lock:
            self.snapshot_reads[uid] = self.snapshot_reads.get(uid, 0) + 1
            hold, self._snapshot_hold = self._snapshot_hold, None
            if hold is not None and hold[0] != uid:
                hold, self._snapshot_hold = None, hold
        self._tell()
        return hold[1] if hold is not None else None

    def _tell(self, counter: str | None = None) -> None:
        if counter is not None:
            with self._lock:
                setattr(self, counter, getattr(self, counter) + 1)
        self._loop.call_soon_threadsafe(self._wake.set)

    def _on_event(self, channel: bytes, payload: bytes) -> None:
        with self._lock:
            handing = [payload]
            if self._drops.get(channel, 0) > 0:
                self._drops[channel] -= 1
                self.dropped.append((channel, payload))
                handing = []
            elif channel in self._bursts:
                count, held = self._bursts[channel]
                held.append(payload)
                handing = []
                if len(held) == count:
                    del self._bursts[channel]
                    handing = held
        for event in handing:
            self._real_on_event(channel, event)  # the hub has handled the event when this returns
            with self._lock:
                self.passed.append((channel, event))
        self._tell()

    def _on_resubscribed(self, channels: list[bytes]) -> None:
        self._real_on_resubscribed(channels)  # spawns the reloads: their first steps are queued now
        # Reported from the next loop round, so after the spawned reloads took their first step.
        asyncio.get_running_loop().call_soon(self._tell, "resubscribes")


class _Snapshots:
    """The hub's Counters as the tap wraps them: every snapshot read is counted, and one can be held."""

    def __init__(self, tap: Tap, real: Counters) -> None:
        self._tap, self._real = tap, real

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    async def snapshot(self, uid: str) -> UserState:
        hold = self._tap._snapshot_started(uid)
        state: UserState = await self._real.snapshot(uid)
        if hold is not None:
            self._tap._tell("held_snapshots")
            await asyncio.wrap_future(hold)
        return state


def client_view(total: int | None, filters: dict[str, int], convs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """What a client shows, with conversations that hold nothing left out (a listing leaves them out too)."""
    shown = {cid: conv for cid, conv in convs.items() if conv != Conversation(cid).as_dict()}
    return {"total": total, "filters": filters, "conversations": shown}


async def converges(client: Client, counters: Counters, uid: str) -> None:
    """Wait until the client's total, filter totals and conversations equal a fresh snapshot."""
    state = await counters.snapshot(uid)
    expected = client_view(
        state.total,
        {filter_key(f): state.filter_total(parse_filter(f)) for f in FILTERS},
        {cid: conv.as_dict() for cid, conv in state.conversations.items()},
    )

    def shown(c: Client) -> dict[str, Any]:
        return client_view(c.total, c.filters, c.conversations)

    try:
        await client.wait_until(lambda c: shown(c) == expected, timeout=DEADLINE)
    except TimeoutError:
        pytest.fail(f"the client did not converge to the snapshot:\n  shows    {shown(client)}\n  snapshot {expected}")
