"""The flusher and the eager send it relies on: one task writes for every connection."""

from __future__ import annotations

import asyncio

import pytest

from gateway.push.flusher import FAIRNESS, Flusher
from gateway.ws import eager


async def _append(log: list[str], item: str) -> None:
    log.append(item)


async def _append_after(gate: asyncio.Event, log: list[str]) -> None:
    log.append("before")
    await gate.wait()
    log.append("after")


class TestEagerStart:
    async def test_a_coroutine_that_never_waits_finishes_in_the_call(self) -> None:
        log: list[str] = []
        assert eager.start(_append(log, "x")) is None
        assert ["x"] == log

    async def test_a_coroutine_that_waits_runs_to_its_wait_then_finishes_when_awaited(self) -> None:
        log: list[str] = []
        gate = asyncio.Event()
        rest = eager.start(_append_after(gate, log))
        assert rest is not None and ["before"] == log
        task = asyncio.ensure_future(rest)
        gate.set()
        async with asyncio.timeout(5):
            await task
        assert ["before", "after"] == log

    async def test_a_deadline_cancels_the_waiting_coroutine(self) -> None:
        log: list[str] = []
        rest = eager.start(_append_after(asyncio.Event(), log))
        assert rest is not None
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.05):
                await rest
        assert ["before"] == log

    async def test_an_error_before_the_first_wait_reaches_the_caller(self) -> None:
        async def broken() -> None:
            raise RuntimeError("closed")

        with pytest.raises(RuntimeError, match="closed"):
            eager.start(broken())


class Recorder:
    """A connection stand-in that records its flushes; `broken` ones raise."""

    def __init__(self, name: str, log: list[str], broken: bool = False) -> None:
        self.name, self.log, self.broken, self.failed = name, log, broken, False
        self.flushed = asyncio.Event()

    def flush(self) -> None:
        if self.broken:
            raise ValueError("bug")
        self.log.append(self.name)
        self.flushed.set()

    def fail(self) -> None:
        self.failed = True


class TestFlusher:
    async def test_marked_connections_flush_once_each_in_order_and_a_failure_stays_local(self) -> None:
        """Marking twice flushes once; a connection that raises is failed and the others still flush."""
        log: list[str] = []
        flusher = Flusher()
        conns = [Recorder(f"c{i}", log, broken=i == 1) for i in range(2 * FAIRNESS + 3)]
        flusher.start()
        try:
            for conn in conns + conns[:5]:
                flusher.mark(conn)
            flusher.forget(conns[2])
            async with asyncio.timeout(5):
                await conns[-1].flushed.wait()  # the last marked: every other one went before it
        finally:
            await flusher.stop()
        assert [c.name for c in conns if c.name not in ("c1", "c2")] == log
        assert [True, False] == [conns[1].failed, conns[0].failed]
