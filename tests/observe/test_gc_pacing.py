"""The paced collector: young collections on a clock, the older generations on CPython's own schedule."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Iterator

import pytest

from gateway.gc_tuning import PacedCollector, collect_as_if_due, collect_on_a_clock


@pytest.fixture
def generations() -> Iterator[list[int]]:
    """The generation of every collection from now on; thresholds and callbacks restored after."""
    saved, seen = gc.get_threshold(), []

    def record(phase: str, info: dict[str, int]) -> None:
        if phase == "stop":
            seen.append(info["generation"])

    gc.collect()
    gc.callbacks.append(record)
    try:
        yield seen
    finally:
        gc.callbacks.remove(record)
        gc.set_threshold(*saved)


class Node:
    """One half of a reference cycle."""

    def __init__(self) -> None:
        self.other: Node | None = None


def test_cpython_picks_the_generation(generations: list[int]) -> None:
    gc.set_threshold(1000, 3, 1000)
    for _ in range(5):
        collect_as_if_due()
    # One collection per call, the middle one once its count passes 3. Another thread allocating in a
    # call's window may collect instead of it, so the order is not asserted, only what ran.
    assert (generations.count(0), generations.count(1)) == (4, 1), generations
    assert gc.get_threshold() == (1000, 3, 1000)


def test_nothing_runs_while_the_collector_is_disabled(generations: list[int]) -> None:
    gc.disable()
    try:
        collect_as_if_due()
        PacedCollector().tick()
    finally:
        gc.enable()
    assert generations == []


def test_the_middle_generation_waits_for_a_middle_collections_worth_of_allocations() -> None:
    saved = gc.get_threshold()
    gc.set_threshold(1000, 5, 1000)
    collector, kept, middles = PacedCollector(), [], []
    try:
        for tick in range(40):
            kept.append([Node() for _ in range(300)])  # 300 net allocations a tick: under the young threshold
            before = gc.get_stats()[1]["collections"]
            collector.tick()
            if gc.get_stats()[1]["collections"] > before:
                middles.append(tick)
    finally:
        gc.set_threshold(*saved)
    # 5 × 1000 allocations take 17 ticks of 300; then the count starts again.
    assert len(middles) == 2 and 14 <= middles[0] <= 18, middles


async def test_a_cycle_is_reclaimed_on_the_clock_while_the_count_stays_low(generations: list[int]) -> None:
    gc.set_threshold(50_000, 20, 20)  # what `reddot serve` runs with: this cycle alone never triggers it
    first, second = Node(), Node()
    first.other, second.other = second, first
    reclaimed = asyncio.Event()
    weakref.finalize(first, reclaimed.set)
    del first, second
    pacer = asyncio.create_task(collect_on_a_clock(0.02))
    try:
        async with asyncio.timeout(5):
            await reclaimed.wait()
    finally:
        pacer.cancel()
    assert 0 in generations
