"""Token expiry of every connection of the process, on one timer instead of one per connection."""

from __future__ import annotations

import asyncio
import contextvars
import math
import time
from typing import Protocol

_NO_CONTEXT = contextvars.Context()  # call_later would otherwise copy the caller's context


class Expiring(Protocol):
    def expired(self) -> None: ...


class Expiries:
    """Connections by the second their token expires; each second that holds some is served once."""

    def __init__(self) -> None:
        self._due: dict[int, set[Expiring]] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._armed_for = math.inf

    def add(self, conn: Expiring, at: float) -> None:
        """Call `conn.expired()` at `at` (epoch seconds; served within the second after)."""
        second = math.ceil(at)
        self._due.setdefault(second, set()).add(conn)
        if second < self._armed_for:
            self._arm(second)

    def discard(self, conn: Expiring, at: float) -> None:
        """Forget the expiry `add` was given (a refresh moved it, or the connection closed)."""
        second = math.ceil(at)
        bucket = self._due.get(second)
        if bucket is not None:
            bucket.discard(conn)
            if not bucket:
                del self._due[second]

    def _arm(self, second: int) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._armed_for = second
        delay = max(0.0, second - time.time())
        self._timer = asyncio.get_running_loop().call_later(delay, self._fire, context=_NO_CONTEXT)

    def _fire(self) -> None:
        self._timer, self._armed_for = None, math.inf
        now = time.time()
        for second in [s for s in self._due if s <= now]:
            for conn in self._due.pop(second):
                conn.expired()
        if self._due:
            self._arm(min(self._due))
