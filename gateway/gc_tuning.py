"""Keep the garbage collector off the tail latency of processes that hold many long-lived objects."""

from __future__ import annotations

import gc


def quiet_gc() -> None:
    """Freeze what exists now and make young collections rare.

    Everything built so far (modules, the app, or a load client's open connections) moves to the
    permanent generation, so no collection walks it again, and young collections run every 50,000
    allocations instead of 700. Measured on `reddot serve` with `reddot load --clients 1000 --rate 2000
    --duration 20 --mix c2c=100`: publish→frame p99 14-105 ms, median 22 (5 runs), instead of
    162-230 ms (3 runs).
    """
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
