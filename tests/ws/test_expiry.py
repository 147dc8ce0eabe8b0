"""Token expiries on one timer: each fires once, in time; a moved or forgotten expiry does not."""

from __future__ import annotations

import asyncio
import time

from gateway.ws.token_expiry import Expiries


class Probe:
    """A connection stand-in that notes when it expired."""

    def __init__(self) -> None:
        self.at: float | None = None
        self.fired = asyncio.Event()

    def expired(self) -> None:
        assert self.at is None, "expired twice"
        self.at = time.time()
        self.fired.set()


class TestExpiries:
    async def test_each_fires_within_a_second_of_its_time_and_discarded_ones_never(self) -> None:
        expiries, now = Expiries(), time.time()
        late, soon, gone, moved = Probe(), Probe(), Probe(), Probe()
        expiries.add(late, now + 30)  # armed for later first: an earlier one must re-arm the timer
        expiries.add(soon, now + 0.2)
        expiries.add(gone, now + 0.2)
        expiries.discard(gone, now + 0.2)
        expiries.add(moved, now + 0.2)
        expiries.discard(moved, now + 0.2)
        expiries.add(moved, now + 1.5)
        async with asyncio.timeout(5):
            await soon.fired.wait()
            await moved.fired.wait()
        assert soon.at is not None and moved.at is not None
        assert now + 0.2 <= soon.at <= now + 1.3
        assert now + 1.5 <= moved.at <= now + 2.6
        assert (None, None) == (gone.at, late.at)
