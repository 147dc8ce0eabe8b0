"""The `P:` field: each unread conversation's highest unread position, which a clean to "everything" reads.

It follows arrivals in any order and recalls of the top message, and it goes with the last unread
message. Conversations counted before the field existed have none: a clean then reads the top from
the positions zset instead, with the same result.
"""

from __future__ import annotations

from collections.abc import Callable

from redis.asyncio import Redis

from counters import keys
from counters.store import Counters
from counters.types import C2CMessage, C2CRecall


async def top(redis: Redis, uid: str, cid: str) -> int | None:
    """The conversation's `P:` field, None when absent."""
    raw = await redis.hget(keys.user(uid), f"P:{cid}")
    return None if raw is None else int(raw)


class TestTopPosition:
    async def test_follows_arrivals_and_recalls_of_the_top(
        self, counters: Counters, redis: Redis, new_id: Callable[[str], str]
    ) -> None:
        """Arrivals at 5, 9, 7 → 9; recalling 9 → 7; recalling 5 → still 7; recalling 7 → gone."""
        alice, bob = new_id("alice"), new_id("bob")
        cid = f"c2c_{bob}"
        await counters.ingest([C2CMessage(f"m{t}", bob, alice, t) for t in (5, 9, 7)])
        seen = [await top(redis, alice, cid)]
        for t in (9, 5, 7):
            await counters.recall([C2CRecall(f"m{t}", bob, alice)])
            seen.append(await top(redis, alice, cid))
        assert [9, 7, 7, None] == seen

    async def test_goes_with_the_last_unread_message_only(
        self, counters: Counters, redis: Redis, new_id: Callable[[str], str]
    ) -> None:
        """A clean below the top keeps it; a clean at the top removes it with the counts."""
        alice, bob = new_id("alice"), new_id("bob")
        cid = f"c2c_{bob}"
        await counters.ingest([C2CMessage(f"m{t}", bob, alice, t) for t in (3, 6)])
        await counters.clean(alice, cid, timestamp=4)
        kept = await top(redis, alice, cid)
        await counters.clean(alice, cid, timestamp=6)
        assert (6, None) == (kept, await top(redis, alice, cid))

    async def test_conversations_counted_before_the_field_clean_to_their_top(
        self, counters: Counters, redis: Redis, new_id: Callable[[str], str]
    ) -> None:
        """Without `P:` (older data), a clean of one conversation and a bulk clean both read up to the zset's top."""
        alice, bob, carol = new_id("alice"), new_id("bob"), new_id("carol")
        await counters.ingest([C2CMessage(f"m{t}", s, alice, t) for s in (bob, carol) for t in (4, 8)])
        await redis.hdel(keys.user(alice), f"P:c2c_{bob}", f"P:c2c_{carol}")
        one = await counters.clean(alice, f"c2c_{bob}")
        bulk = await counters.clean(alice, "c2c")
        state = await counters.snapshot(alice)
        reads = {cid: (c.unread, c.read) for cid, c in state.conversations.items()}
        assert ((2, 5), (2, 6)) == (one, bulk)  # ver: four arrivals, then one event per clean
        assert ({f"c2c_{bob}": (0, 8), f"c2c_{carol}": (0, 8)}, 0) == (reads, state.total)
