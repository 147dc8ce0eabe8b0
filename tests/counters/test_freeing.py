"""Big structures leave a function call through UNLINK: Redis 7 frees a DEL'd zset inside the call."""

from __future__ import annotations

from collections.abc import Callable

from redis.asyncio import Redis

from counters.store import Counters
from counters.types import C2CMessage


async def _calls(redis: Redis, command: str) -> int:
    stats = await redis.info("commandstats")
    return int(stats.get(f"cmdstat_{command}", {}).get("calls", 0))


class TestFreeing:
    async def test_clean_unlinks_the_position_zsets(
        self, counters: Counters, redis: Redis, new_id: Callable[[str], str]
    ) -> None:
        """A clean of every conversation drops their zsets with UNLINK and never DEL.

        With DEL, Redis 7 (lazyfree-lazy-user-del no) freed 100 conversations of 10,000 positions
        each inside one call: 290-322 ms. UNLINK hands big values to a background thread.
        """
        alice = new_id("alice")
        await counters.ingest([C2CMessage(f"m{i}", new_id("s"), alice, 100 + i) for i in range(30)])
        before = (await _calls(redis, "unlink"), await _calls(redis, "del"))
        cleaned, _ = await counters.clean(alice, "")
        after = (await _calls(redis, "unlink"), await _calls(redis, "del"))
        assert (30, True, 0) == (cleaned, after[0] > before[0], after[1] - before[1])
        assert [] == [k async for k in redis.scan_iter(match=f"p:{{u:{alice}}}:*")]

    async def test_deleting_a_conversation_group_unlinks_its_set(
        self, counters: Counters, redis: Redis, new_id: Callable[[str], str]
    ) -> None:
        """The set of up to 1,000 conversations goes the same way."""
        alice = new_id("alice")
        await counters.create_conversation_group(alice, "work", [f"c2c_{new_id('b')}" for _ in range(5)])
        before = (await _calls(redis, "unlink"), await _calls(redis, "del"))
        await counters.delete_conversation_group(alice, "work")
        after = (await _calls(redis, "unlink"), await _calls(redis, "del"))
        assert (1, 0) == (after[0] - before[0], after[1] - before[1])
