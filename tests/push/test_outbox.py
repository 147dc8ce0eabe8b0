"""The coalescing outbox: memory bounded by distinct keys, never by the change rate."""

from __future__ import annotations

import asyncio

from gateway.push.outbox import MAX_PENDING_REPLIES, Outbox


class TestOutbox:
    async def test_pushes_coalesce_by_key(self) -> None:
        """10,000 changes to 3 conversations leave 3 pending keys and one batch."""
        box = Outbox()
        coalesced = sum(box.push(True, True, [f"c2c_u{i % 3}"], 1000 + i) for i in range(10_000))
        batch = box.take()
        assert {"c2c_u0", "c2c_u1", "c2c_u2"} == batch.conversations
        assert (batch.total, batch.filters, batch.oldest_ms) == (True, True, 1000)
        assert coalesced == 10_000 * 3 - 5
        assert box.empty

    async def test_replies_keep_order_and_are_never_merged(self) -> None:
        """Replies come out in the order they went in."""
        box = Outbox()
        for i in range(5):
            box.reply({"id": i})
        assert [{"id": i} for i in range(5)] == box.take().replies

    async def test_reader_waits_when_replies_pile_up(self) -> None:
        """A full reply queue blocks the reader until the flusher takes it."""
        box = Outbox()
        for i in range(MAX_PENDING_REPLIES):
            box.reply({"id": i})
        waiting = asyncio.create_task(box.room())
        await asyncio.sleep(0)  # let it reach its wait (a step, not a synchronisation by time)
        assert not waiting.done()
        box.take()
        async with asyncio.timeout(5):
            await waiting

    async def test_room_is_free_below_the_limit(self) -> None:
        """Below the limit the reader goes straight on."""
        box = Outbox()
        box.reply({"id": 1})
        async with asyncio.timeout(5):
            await box.room()
