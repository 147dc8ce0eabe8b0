"""Every state change publishes exactly one event with the new absolute values; a no-op publishes none."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from redis.asyncio import Redis
from support.events import Subscription, conv, summary

from counters.store import CLEAN_SLICE, Counters
from counters.types import C2CMessage, C2CRecall, GroupMessage, GroupRecall


class TestIngestEvents:
    async def test_counted_c2c_message_publishes_one_event(
        self, counters: Counters, redis: Redis, new_id: Callable[[str], str]
    ) -> None:
        """A counted C2C message: one event with ver 1, total 1 and the conversation's new values."""
        alice, bob = new_id("alice"), new_id("bob")
        async with Subscription(redis, [alice]) as sub:
            await counters.ingest([C2CMessage("m1", bob, alice, 100)])
            events = await sub.take()
        expected = [(1, 1, {f"c2c_{bob}": conv(f"c2c_{bob}", unread=1)})]
        assert expected == summary(events[alice])

    async def test_group_message_publishes_one_event_per_recipient(
        self, counters: Counters, redis: Redis, new_id: Callable[[str], str]
    ) -> None:
        """A group message counted for two members: one event each, on each member's own channel; none to the sender."""
        alice, bob, carol, g = new_id("alice"), new_id("bob"), new_id("carol"), new_id("g")
        await counters.put_group(g, "Work")
        await counters.edit_members(g, [alice, bob, carol], [])
        async with Subscription(redis, [alice, bob, carol]) as sub:
            assert [2] == await counters.ingest([GroupMessage("m1", bob, g, 7, at=frozenset({carol}))])
            events = await sub.take()
        cid = f"group_{g}"
        expected = {
            alice: [(1, 1, {cid: conv(cid, unread=1)})],
            bob: [],
            carol: [(1, 1, {cid: conv(cid, unread=1, mentions=1)})],
        }
        assert expected == {uid: summary(evs) for uid, evs in events.items()}

    async def test_redelivery_and_uncounted_messages_publish_nothing(
        self, counters: Counters, redis: Redis, new_id: Callable[[str], str]
    ) -> None:
        """A duplicate, an excluded message and a message to a recv_opt-1 conversation change nothing: no event."""
        alice, bob, carol = new_id("alice"), new_id("bob"), new_id("carol")
        await counters.ingest([C2CMessage("m1", bob, alice, 100)])
        await counters.set_recv_opt(alice, [f"c2c_{carol}"], 1)
        async with Subscription(redis, [alice]) as sub:
            counted = await counters.ingest(
                [
                    C2CMessage("m1", bob, alice, 100),
                    C2CMessage("m2", bob, alice, 101, excluded=True),
                    C2CMessage("m3", carol, alice, 102),
                ]
            )
            events = await sub.take()
        assert ([0, 0, 0], []) == (counted, events[alice])


class TestGroupChatEvents:
    async def test_group_chat_changes_publish_nothing(
        self, counters: Counters, redis: Redis, new_id: Callable[[str], str]
    ) -> None:
        """Creating, editing and deleting a group chat changes no user's state: no event, no ver."""
        alice, g = new_id("alice"), new_id("g")
        async with Subscription(redis, [alice]) as sub:
            await counters.put_group(g, "Work")
            await counters.edit_members(g, [alice], [])
            await counters.edit_members(g, [], [alice])
            await counters.delete_group(g)
            events = await sub.take()
        assert ([], (0, 0)) == (events[alice], await counters.total(alice))


class TestCleanEvents:
    async def test_clean_publishes_new_counts_and_read_position(
        self, counters: Counters, redis: Redis, new_id: Callable[[str], str]
    ) -> None:
        """A clean publishes one event: ver + 1, the new total, unread 0 and the new read position."""
        alice, bob = new_id("alice"), new_id("bob")
        await counters.ingest([C2CMessage("m1", bob, alice, 100), C2CMessage("m2", bob, alice, 200)])
        async with Subscription(redis, [alice]) as sub:
            result = await counters.clean(alice, f"c2c_{bob}", timestamp=150)
            events = await sub.take()
        cid = f"c2c_{bob}"
        assert ((1, 3), [(3, 1, {cid: conv(cid, unread=1, read=150)})]) == (result, summary(events[alice]))

    async def test_clean_that_moves_nothing_publishes_nothing(
        self, counters: Counters, redis: Redis, new_id: Callable[[str], str]
    ) -> None:
        """Cleaning with 0 when nothing is unread, or below the read position, changes nothing: same ver, no event."""
        alice, bob = new_id("alice"), new_id("bob")
        await counters.ingest([C2CMessage("m1", bob, alice, 100)])
        await counters.clean(alice, f"c2c_{bob}", timestamp=100)
        async with Subscription(redis, [alice]) as sub:
            results = [
                await counters.clean(alice, f"c2c_{bob}"),
                await counters.clean(alice, f"c2c_{bob}", timestamp=50),
                await counters.clean(alice, "c2c"),
            ]
            events = await sub.take()
        assert ([(0, 2)] * 3, []) == (results, events[alice])

    async def test_clean_above_read_position_of_empty_conversation_publishes(
        self, counters: Counters, redis: Redis, new_id: Callable[[str], str]
    ) -> None:
        """Moving the read position of a conversation with nothing unread is a change: one event."""
        alice, g = new_id("alice"), new_id("g")
        async with Subscription(redis, [alice]) as sub:
            result = await counters.clean(alice, f"group_{g}", timestamp=999, sequence=40)
            events = await sub.take()
        cid = f"group_{g}"
        assert ((0, 1), [(1, 0, {cid: conv(cid, read=40)})]) == (result, summary(events[alice]))

    async def test_a_conversation_named_twice_in_one_call_is_cleaned_once(
        self, counters: Counters, new_id: Callable[[str], str]
    ) -> None:
        """The clean reads every field before it writes: a repeated id must not remove its messages twice."""
        alice, bob = new_id("alice"), new_id("bob")
        cid = f"c2c_{bob}"
        await counters.ingest([C2CMessage(f"m{t}", bob, alice, t) for t in (1, 2, 3)])
        result = await counters._clean(alice, [(cid, 2), (cid, 3)])  # the first position wins
        state = await counters.snapshot(alice)
        conv = state.conversations[cid]
        assert ((2, 4), 1, 1, 2) == (result, state.total, conv.unread, conv.read)

    async def test_bulk_clean_publishes_one_event_per_slice(
        self, counters: Counters, redis: Redis, new_id: Callable[[str], str]
    ) -> None:
        """Cleaning "" over 600 unread conversations: one event per bounded slice, each conversation once."""
        alice = new_id("alice")
        senders = [f"s{i}-{alice}" for i in range(600)]
        await counters.ingest([C2CMessage(f"m{i}", s, alice, 100 + i) for i, s in enumerate(senders)])
        async with Subscription(redis, [alice]) as sub:
            cleaned, ver = await counters.clean(alice, "")
            events = await sub.take()
        published = events[alice]
        seen = [c.id for e in published for c in e.conversations]
        assert (600, 600 + len(published)) == (cleaned, ver)
        assert [600 + i for i in range(1, len(published) + 1)] == [e.ver for e in published]
        assert sorted(f"c2c_{s}" for s in senders) == sorted(seen)
        assert 0 == published[-1].total
        slices = [min(CLEAN_SLICE, 600 - i) for i in range(0, 600, CLEAN_SLICE)]
        assert slices == [len(e.conversations) for e in published]

    async def test_bulk_clean_of_one_kind_leaves_the_other_in_a_large_user(
        self, counters: Counters, new_id: Callable[[str], str]
    ) -> None:
        """Past the compact hash encoding, cleaning "group" scans every group and no one-to-one conversation."""
        alice = new_id("alice")
        await counters.ingest([C2CMessage(f"m{i}", f"s{i}-{alice}", alice, 100 + i) for i in range(300)])
        groups = [new_id("g") for _ in range(150)]
        for g in groups:
            await counters.put_group(g, "Work")
            await counters.edit_members(g, [alice], [])
        await counters.ingest([GroupMessage(f"gm{i}", "bob", g, 5 + i) for i, g in enumerate(groups)])
        assert 150 == (await counters.clean(alice, "group"))[0]
        state = await counters.snapshot(alice)
        unread = {c.id.split("_", 1)[0] for c in state.conversations.values() if c.unread}
        read_groups = [c for c in state.conversations.values() if c.id.startswith("group_") and c.read]
        assert ({"c2c"}, 300, 150) == (unread, state.total, len(read_groups))
        assert 300 == (await counters.clean(alice, "c2c"))[0]
        assert 0 == (await counters.snapshot(alice)).total


class TestRecallEvents:
    async def test_recall_of_unread_message_publishes_one_event(
        self, counters: Counters, redis: Redis, new_id: Callable[[str], str]
    ) -> None:
        """Recalling an unread mention publishes the conversation with unread and mentions one lower."""
        alice, bob, g = new_id("alice"), new_id("bob"), new_id("g")
        await counters.put_group(g, "Work")
        await counters.edit_members(g, [alice, bob], [])
        await counters.ingest([GroupMessage("m1", bob, g, 1, at_all=True), GroupMessage("m2", bob, g, 2)])
        async with Subscription(redis, [alice, bob]) as sub:
            recalled = await counters.recall([GroupRecall("m1", g)])
            events = await sub.take()
        cid = f"group_{g}"
        assert ([1], [(3, 1, {cid: conv(cid, unread=1)})], []) == (recalled, summary(events[alice]), events[bob])

    async def test_recall_of_read_message_publishes_nothing(
        self, counters: Counters, redis: Redis, new_id: Callable[[str], str]
    ) -> None:
        """Recalling a message already cleaned (or never sent) changes no count: no event."""
        alice, bob = new_id("alice"), new_id("bob")
        await counters.ingest([C2CMessage("m1", bob, alice, 100)])
        await counters.clean(alice, f"c2c_{bob}")
        async with Subscription(redis, [alice]) as sub:
            recalled = await counters.recall([C2CRecall("m1", bob, alice), C2CRecall("never", bob, alice)])
            events = await sub.take()
        assert ([0, 0], []) == (recalled, events[alice])


class TestSettingsEvents:
    async def test_recv_opt_publishes_changed_conversations_and_total(
        self, counters: Counters, redis: Redis, new_id: Callable[[str], str]
    ) -> None:
        """Muting two conversations publishes one event with both and the lower total; repeating it publishes none."""
        alice, bob, carol = new_id("alice"), new_id("bob"), new_id("carol")
        await counters.ingest([C2CMessage("m1", bob, alice, 100), C2CMessage("m2", carol, alice, 100)])
        convs = [f"c2c_{bob}", f"c2c_{carol}"]
        async with Subscription(redis, [alice]) as sub:
            vers = [await counters.set_recv_opt(alice, convs, 2), await counters.set_recv_opt(alice, convs, 2)]
            events = await sub.take()
        expected = [(3, 0, {cid: conv(cid, unread=1, recv_opt=2) for cid in convs})]
        assert ([3, 3], expected) == (vers, summary(events[alice]))

    async def test_mark_publishes_new_marks(
        self, counters: Counters, redis: Redis, new_id: Callable[[str], str]
    ) -> None:
        """Setting a custom mark (bit 63) and STAR publishes the 64-bit marks; clearing bits not set publishes none."""
        alice, bob = new_id("alice"), new_id("bob")
        cid = f"c2c_{bob}"
        async with Subscription(redis, [alice]) as sub:
            vers = [
                await counters.mark(alice, [cid], (1 << 63) | 1, True),
                await counters.mark(alice, [cid], 1 << 40, False),
            ]
            events = await sub.take()
        assert ([1, 1], [(1, 0, {cid: conv(cid, marks=(1 << 63) | 1)})]) == (vers, summary(events[alice]))


class TestConversationGroupEvents:
    async def test_create_rename_delete_publish_their_conversations(
        self, counters: Counters, redis: Redis, new_id: Callable[[str], str]
    ) -> None:
        """Create, rename and delete each publish one event listing the group's conversations with their groups."""
        alice, bob = new_id("alice"), new_id("bob")
        cid = f"c2c_{bob}"
        async with Subscription(redis, [alice]) as sub:
            await counters.create_conversation_group(alice, "work", [cid])
            await counters.rename_conversation_group(alice, "work", "job")
            await counters.delete_conversation_group(alice, "job")
            events = await sub.take()
        expected = [
            (1, 0, {cid: conv(cid, groups=("work",))}),
            (2, 0, {cid: conv(cid, groups=("job",))}),
            (3, 0, {cid: conv(cid)}),
        ]
        assert expected == summary(events[alice])

    async def test_edit_publishes_one_event_with_what_joined_and_left(
        self, counters: Counters, redis: Redis, new_id: Callable[[str], str]
    ) -> None:
        """One edit that adds one conversation and removes another is one change: ver + 1, one event with both."""
        alice, bob, carol = new_id("alice"), new_id("bob"), new_id("carol")
        await counters.create_conversation_group(alice, "work", [f"c2c_{bob}"])
        async with Subscription(redis, [alice]) as sub:
            ver = await counters.edit_conversation_group(alice, "work", add=[f"c2c_{carol}"], remove=[f"c2c_{bob}"])
            events = await sub.take()
        expected = [(2, 0, {f"c2c_{bob}": conv(f"c2c_{bob}"), f"c2c_{carol}": conv(f"c2c_{carol}", groups=("work",))})]
        assert (2, expected) == (ver, summary(events[alice]))

    async def test_edit_that_changes_nothing_publishes_nothing(
        self, counters: Counters, redis: Redis, new_id: Callable[[str], str]
    ) -> None:
        """Adding a conversation already in the group and removing one not in it: same ver, no event."""
        alice, bob, carol = new_id("alice"), new_id("bob"), new_id("carol")
        await counters.create_conversation_group(alice, "work", [f"c2c_{bob}"])
        async with Subscription(redis, [alice]) as sub:
            ver = await counters.edit_conversation_group(alice, "work", add=[f"c2c_{bob}"], remove=[f"c2c_{carol}"])
            events = await sub.take()
        assert (1, []) == (ver, events[alice])


class TestEventValues:
    async def test_every_event_matches_the_snapshot_after_it(
        self, counters: Counters, redis: Redis, new_id: Callable[[str], str]
    ) -> None:
        """An event's ver, total and conversations equal a snapshot taken right after the change."""
        alice, bob, g = new_id("alice"), new_id("bob"), new_id("g")
        await counters.put_group(g, "Community")
        await counters.edit_members(g, [alice, bob], [])
        steps: list[Callable[[], Awaitable[object]]] = [
            lambda: counters.ingest([GroupMessage("m1", bob, g, 5, at=frozenset({alice}))]),
            lambda: counters.set_recv_opt(alice, [f"group_{g}"], 3),
            lambda: counters.mark(alice, [f"group_{g}"], 2, True),
            lambda: counters.create_conversation_group(alice, "家人", [f"group_{g}"]),
            lambda: counters.clean(alice, f"group_{g}", sequence=5),
        ]
        async with Subscription(redis, [alice]) as sub:
            for step in steps:
                await step()
                [event] = (await sub.take())[alice]
                state = await counters.snapshot(alice)
                assert (state.ver, state.total, state.conversations[f"group_{g}"]) == (
                    event.ver,
                    event.total,
                    event.conversations[0],
                )
