"""One task per process writes the pending frames of every connection that has some.

A writer task per connection would cost memory on every idle socket and a task wake-up per
connection per change; here the hub marks connections, and one pass over the marked ones writes
them all (each send stepped eagerly: see eager.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

log = logging.getLogger("reddot")

FAIRNESS = 500  # connections flushed before yielding to the loop (HTTP and the hub's reads go on)


class Flushable(Protocol):
    def flush(self) -> None: ...

    def fail(self) -> None: ...


class Flusher:
    """Connections with frames to send, written from one task in the order they were marked."""

    def __init__(self) -> None:
        self._dirty: dict[Flushable, None] = {}  # an ordered set
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def mark(self, conn: Flushable) -> None:
        """`conn` has something to send."""
        self._dirty[conn] = None
        self._wake.set()

    def forget(self, conn: Flushable) -> None:
        """`conn` is gone."""
        self._dirty.pop(conn, None)

    def start(self) -> None:
        """Start the task (inside the running loop)."""
        self._task = asyncio.create_task(self._run(), name="reddot-flusher")

    async def stop(self) -> None:
        """Stop the task."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            dirty, self._dirty = self._dirty, {}
            for done, conn in enumerate(dirty, 1):
                try:
                    conn.flush()
                except Exception:  # a bug in one connection must not stop every push
                    log.exception("flushing a connection failed")
                    conn.fail()
                if done % FAIRNESS == 0:
                    await asyncio.sleep(0)
