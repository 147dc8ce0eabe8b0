"""Concurrent calls for one user: exact counts, one event per change, versions without gaps or repeats."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
from redis.asyncio import BlockingConnectionPool, Redis
from support.events import Subscription

from counters.snapshot import Event
from counters.store import Counters
from counters.types import C2CMessage, Conversation, GroupMessage


def vers(events: list[Event]) -> list[int]:
    return [e.ver for e in events]


@pytest.fixture
async def counters(redis_url: str) -> AsyncIterator[Counters]:
    """The counters API on a pool of 50 connections: hundreds of calls in flight wait for one, as in the gateway."""
    pool = BlockingConnectionPool.from_url(redis_url, max_connections=50, decode_responses=True)
    client = Redis(connection_pool=pool)
    store = Counters(client)
    await store.start()
    yield store
    await client.aclose()
    await pool.aclose()


class TestConcurrentIngest:
    async def test_hundreds_of_single_message_ingests(
        self, counters: Counters, redis: Redis, new_id: Callable[[str], str]
    ) -> None:
        """400 concurrent one-message ingests from 20 senders: 400 unread, 400 events with vers 1..400 in order."""
        alice = new_id("alice")
        senders = [new_id("s") for _ in range(20)]
        msgs = [C2CMessage(f"m{i}", senders[i % 20], alice, 1000 + i) for i in range(400)]
        async with Subscription(redis, [alice]) as sub:
            counted = await asyncio.gather(*(counters.ingest([m]) for m in msgs))
            events = (await sub.take())[alice]
        state = await counters.snapshot(alice)
        assert [[1]] * 400 == counted
        assert (400, 400, [20] * 20) == (state.ver, state.total, [c.unread for c in state.conversations.values()])
        # Each event is one change: its ver is the next one and its total grew by exactly one.
        assert list(range(1, 401)) == vers(events)
        assert list(range(1, 401)) == [e.total for e in events]

    async def test_concurrent_redeliveries_count_once(
        self, counters: Counters, redis: Redis, new_id: Callable[[str], str]
    ) -> None:
        """Each of 50 messages delivered 6 times concurrently counts once: 50 unread, 50 events."""
        alice, bob = new_id("alice"), new_id("bob")
        msgs = [C2CMessage(f"m{i}", bob, alice, 10 + i) for i in range(50)]
        async with Subscription(redis, [alice]) as sub:
            counted = await asyncio.gather(*(counters.ingest([m]) for m in msgs * 6))
            events = (await sub.take())[alice]
        assert (50, (50, 50), list(range(1, 51))) == (
            sum(c[0] for c in counted),
            await counters.total(alice),
            vers(events),
        )

    async def test_big_batches_in_parallel(
        self, counters: Counters, redis: Redis, new_id: Callable[[str], str]
    ) -> None:
        """Four concurrent batches of 300 messages (with 100 shared between two of them): 1000 counted, vers 1..1000."""
        alice, bob, carol = new_id("alice"), new_id("bob"), new_id("carol")
        msgs = [C2CMessage(f"m{i}", bob if i % 2 else carol, alice, 1 + i) for i in range(1000)]
        batches = [msgs[0:300], msgs[300:600], msgs[600:900], msgs[800:1000] + msgs[0:100]]
        async with Subscription(redis, [alice]) as sub:
            counted = await asyncio.gather(*(counters.ingest(batch) for batch in batches))
            events = (await sub.take())[alice]
        state = await counters.snapshot(alice)
        assert (1000, 1000, 1000) == (sum(map(sum, counted)), state.total, state.ver)
        assert list(range(1, 1001)) == vers(events)

    async def test_group_messages_in_parallel(
        self, counters: Counters, redis: Redis, new_id: Callable[[str], str]
    ) -> None:
        """60 concurrent messages to a 150-member group: every other member gets 60 unread and 60 events."""
        g = new_id("g")
        members = [new_id("m") for _ in range(150)]
        await counters.put_group(g, "Public")
        await counters.edit_members(g, members, [])
        msgs = [GroupMessage(f"m{i}", members[i % 3], g, 1 + i) for i in range(60)]
        watched = members[:3] + members[-2:]
        async with Subscription(redis, watched) as sub:
            counted = await asyncio.gather(*(counters.ingest([m]) for m in msgs))
            events = await sub.take()
        own = {uid: sum(1 for m in msgs if m.sender == uid) for uid in watched}
        assert [[149]] * 60 == counted
        assert {uid: list(range(1, 61 - own[uid])) for uid in watched} == {u: vers(e) for u, e in events.items()}
        assert {uid: (60 - own[uid], 60 - own[uid]) for uid in watched} == {
            uid: await counters.total(uid) for uid in watched
        }


class TestConcurrentMixedOperations:
    async def test_ingest_clean_recall_and_settings_interleave_atomically(
        self, counters: Counters, redis: Redis, new_id: Callable[[str], str]
    ) -> None:
        """Ingests racing with cleans, recalls and mutes: every event is one change and the end state adds up."""
        alice = new_id("alice")
        senders = [new_id("s") for _ in range(4)]
        msgs = [C2CMessage(f"m{i}", senders[i % 4], alice, 1 + i) for i in range(300)]
        convs = [f"c2c_{s}" for s in senders]
        ops = [counters.ingest([m]) for m in msgs]
        ops += [counters.clean(alice, convs[i % 4], timestamp=10 * i) for i in range(20)]
        ops += [counters.set_recv_opt(alice, [convs[i % 4]], i % 3) for i in range(20)]
        ops += [counters.mark(alice, convs, 1 << 32, i % 2 == 0) for i in range(10)]
        async with Subscription(redis, [alice]) as sub:
            await asyncio.gather(*ops)
            events = (await sub.take())[alice]
        state = await counters.snapshot(alice)
        assert list(range(1, state.ver + 1)) == vers(events)
        assert sum(c.unread for c in state.conversations.values() if c.recv_opt == 0) == state.total
        assert state.total == events[-1].total
        # The last event that names a conversation carries its final values.
        last = {c.id: c for e in events for c in e.conversations}
        assert {cid: state.conversations.get(cid, Conversation(cid)) for cid in last} == last
