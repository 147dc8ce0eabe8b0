"""The position cap: beyond it the oldest unread ids fold into an overflow count; unread stays exact.

With a cap of 3 (Limits(position_cap=3)) and messages at positions 1..5, messages 1 and 2 fold:
the overflow holds 2 messages, highest folded position X = 2. The three documented inexactnesses
(docs/counting.md) follow from the folded ids being gone.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis
from support.model import Model, canonical_state

from counters import keys
from counters.fanout import Limits
from counters.store import Counters
from counters.types import C2CMessage, C2CRecall, GroupMessage, GroupRecall

CAP = Limits(position_cap=3)


@pytest.fixture
async def capped(redis: Redis) -> Counters:
    """The counters API with a position cap of 3."""
    store = Counters(redis, CAP)
    await store.start()
    return store


async def five_messages(counters: Counters, alice: str, bob: str) -> str:
    """C2C messages m1..m5 at timestamps 1..5 from bob to alice; returns the conversation."""
    await counters.ingest([C2CMessage(f"m{t}", bob, alice, t) for t in range(1, 6)])
    return f"c2c_{bob}"


class TestFold:
    async def test_oldest_ids_fold_and_unread_stays_exact(
        self, capped: Counters, redis: Redis, new_id: Callable[[str], str]
    ) -> None:
        """Five unread messages with a cap of 3: 3 ids kept, 2 folded with highest position 2, unread and total 5."""
        alice, bob = new_id("alice"), new_id("bob")
        cid = await five_messages(capped, alice, bob)
        kept = await redis.zrange(keys.positions(alice, cid), 0, -1)
        overflow = await redis.hmget(keys.user(alice), [f"x:{cid}", f"X:{cid}"])
        state = await capped.snapshot(alice)
        assert (["m3", "m4", "m5"], ["2", "2"]) == (kept, overflow)
        assert (5, 5) == (state.conversations[cid].unread, state.total)

    async def test_folded_mentions_still_count(
        self, capped: Counters, redis: Redis, new_id: Callable[[str], str]
    ) -> None:
        """Mentions among folded messages stay in `mentions` until a clean covers the overflow."""
        alice, bob, g = new_id("alice"), new_id("bob"), new_id("g")
        await capped.put_group(g, "Work")
        await capped.edit_members(g, [alice, bob], [])
        at = frozenset({alice})
        await capped.ingest([GroupMessage(f"m{s}", bob, g, s, at=at if s <= 2 else frozenset()) for s in range(1, 6)])
        before = (await capped.snapshot(alice)).conversations[f"group_{g}"]
        cleaned = await capped.clean(alice, f"group_{g}", sequence=2)
        after = (await capped.snapshot(alice)).conversations[f"group_{g}"]
        assert ((5, 2), (2, 6), (3, 0)) == ((before.unread, before.mentions), cleaned, (after.unread, after.mentions))

    async def test_clean_at_highest_folded_position_removes_the_overflow(
        self, capped: Counters, new_id: Callable[[str], str]
    ) -> None:
        """A clean at X (= 2) removes both folded messages; a clean with 0 then removes the rest."""
        alice, bob = new_id("alice"), new_id("bob")
        cid = await five_messages(capped, alice, bob)
        assert [(2, 6), (3, 7), (0, 7)] == [
            await capped.clean(alice, cid, timestamp=2),
            await capped.clean(alice, cid),
            await capped.total(alice),
        ]

    async def test_recall_of_a_kept_message_is_exact(self, capped: Counters, new_id: Callable[[str], str]) -> None:
        """Recalling a message still in the id set removes it: unread 4."""
        alice, bob = new_id("alice"), new_id("bob")
        await five_messages(capped, alice, bob)
        assert ([1], (4, 6)) == (await capped.recall([C2CRecall("m5", bob, alice)]), await capped.total(alice))

    async def test_clean_with_zero_reaches_the_overflow_when_no_id_is_left(
        self, capped: Counters, new_id: Callable[[str], str]
    ) -> None:
        """With the 3 kept ids recalled, only the overflow is unread: a clean with 0 reads up to X and removes it."""
        alice, bob = new_id("alice"), new_id("bob")
        cid = await five_messages(capped, alice, bob)
        await capped.recall([C2CRecall(f"m{t}", bob, alice) for t in (3, 4, 5)])
        result = await capped.clean(alice, cid)
        conv = (await capped.snapshot(alice)).conversations[cid]
        assert ((2, 9), 0, 2) == (result, conv.unread, conv.read)

    async def test_fold_continues_as_messages_arrive(self, capped: Counters, new_id: Callable[[str], str]) -> None:
        """Ten messages with a cap of 3: unread 10; a clean at the 7th position leaves exactly 3."""
        alice, bob = new_id("alice"), new_id("bob")
        await capped.ingest([C2CMessage(f"m{t}", bob, alice, t) for t in range(1, 11)])
        assert [(10, 10), (7, 11), (3, 11)] == [
            await capped.total(alice),
            await capped.clean(alice, f"c2c_{bob}", timestamp=7),
            await capped.total(alice),
        ]


class TestInexactness:
    async def test_clean_below_highest_folded_position_keeps_the_overflow(
        self, capped: Counters, new_id: Callable[[str], str]
    ) -> None:
        """Documented: a clean at 1 (< X = 2) cannot remove folded message 1; the read position still moves to 1."""
        alice, bob = new_id("alice"), new_id("bob")
        cid = await five_messages(capped, alice, bob)
        result = await capped.clean(alice, cid, timestamp=1)
        conv = (await capped.snapshot(alice)).conversations[cid]
        assert ((0, 6), 5, 1) == (result, conv.unread, conv.read)

    async def test_recall_of_a_folded_message_does_not_remove_it(
        self, capped: Counters, new_id: Callable[[str], str]
    ) -> None:
        """Documented: recalling folded message m1 removes nothing (0), though it is tombstoned for later deliveries."""
        alice, bob = new_id("alice"), new_id("bob")
        await five_messages(capped, alice, bob)
        recalled = await capped.recall([C2CRecall("m1", bob, alice)])
        assert ([0], (5, 5), [0]) == (
            recalled,
            await capped.total(alice),
            await capped.ingest([C2CMessage("m1", bob, alice, 1)]),
        )

    async def test_late_message_at_or_below_highest_folded_position_is_not_counted(
        self, capped: Counters, new_id: Callable[[str], str]
    ) -> None:
        """Documented: a new message arriving late at position 2 (≤ X) is taken as already counted; at 3 it counts."""
        alice, bob = new_id("alice"), new_id("bob")
        await five_messages(capped, alice, bob)
        late = [C2CMessage("late1", bob, alice, 2), C2CMessage("late2", bob, alice, 3)]
        assert ([0, 1], (6, 6)) == (await capped.ingest(late), await capped.total(alice))


# (operation, a number, a flag): a new message at seq n (mentioning alice or not); a redelivery or recall
# of the n-th message sent; a clean at the n-th message's seq, or just above it, or with 0 (everything);
# a bulk clean of every group conversation.
operations = st.lists(
    st.tuples(
        st.sampled_from(("message", "message", "redeliver", "recall", "clean", "clean_all")),
        st.integers(0, 8),
        st.booleans(),
    ),
    min_size=4,
    max_size=30,
)


class TestAgainstModel:
    @settings(max_examples=100, deadline=None)
    @given(ops=operations)
    def test_capped_conversation_agrees_with_the_model(self, redis_url: str, ops: list[tuple[str, int, bool]]) -> None:
        """Random messages, redeliveries, recalls and cleans on one capped group conversation equal the model's."""
        asyncio.run(self.check(redis_url, ops))

    async def check(self, redis_url: str, ops: list[tuple[str, int, bool]]) -> None:
        run = uuid.uuid4().hex[:10]
        alice, bob, g = f"alice-{run}", f"bob-{run}", f"g-{run}"
        model = Model(CAP)
        async with Redis.from_url(redis_url, decode_responses=True) as client:
            counters = Counters(client, CAP)
            sent: list[GroupMessage] = []
            for name, args in [("put_group", (g, "Work")), ("edit_members", (g, [alice, bob], []))]:
                assert getattr(model, name)(*args) == await getattr(counters, name)(*args)
            for op, value, mention in ops:
                if op == "message" or not sent:
                    seq = max(value, 1)  # (nothing sent yet to redeliver, recall or aim a clean at: a new one)
                    msg = GroupMessage(f"m{len(sent)}", bob, g, seq, at=frozenset({alice} if mention else ()))
                    sent.append(msg)
                    name, args = "ingest", ([msg],)
                elif op == "redeliver":
                    name, args = "ingest", ([sent[value % len(sent)]],)
                elif op == "recall":
                    name, args = "recall", ([GroupRecall(sent[value % len(sent)].id, g)],)
                elif op == "clean":
                    seq = 0 if value == 0 else sent[value % len(sent)].seq + (1 if mention else 0)
                    name, args = "clean", (alice, f"group_{g}", 0, seq)
                else:
                    name, args = "clean", (alice, "group", 0, 0)
                assert getattr(model, name)(*args) == await getattr(counters, name)(*args), (name, args)
                assert model.snapshot(alice) == canonical_state(await counters.snapshot(alice))
