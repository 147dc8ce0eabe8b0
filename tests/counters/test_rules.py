"""One example per rule of who counts, how often, and what the totals add up (docs/protocol.md §1–§2)."""

from __future__ import annotations

from typing import Any

import pytest
from support.counting import NewId, group, unread

from counters.types import C2CMessage, C2CRecall, Filter, GroupMessage


class TestWhoCounts:
    async def test_excluded_message_never_counts(self, counters: Any, new_id: NewId) -> None:
        """A message excluded from unread counts (isExcludedFromUnreadCount) counts for nobody."""
        alice, bob = new_id("alice"), new_id("bob")
        g = await group(counters, new_id, [alice, bob])
        msgs = [C2CMessage("m1", bob, alice, 1, excluded=True), GroupMessage("m2", bob, g, 1, excluded=True)]
        assert ([0, 0], (0, 0)) == (await counters.ingest(msgs), await counters.total(alice))

    async def test_sender_never_counts_own_message(self, counters: Any, new_id: NewId) -> None:
        """The sender of a group message is not counted, even when listed in `recipients` or mentioned."""
        alice, bob = new_id("alice"), new_id("bob")
        g = await group(counters, new_id, [alice, bob])
        msg = GroupMessage("m1", bob, g, 1, at=frozenset({bob}), recipients=(alice, bob))
        assert ([1], (0, 0)) == (await counters.ingest([msg]), await counters.total(bob))

    @pytest.mark.parametrize("kind", ["Meeting", "AVChatRoom"])
    async def test_meeting_and_live_groups_never_count(self, counters: Any, new_id: NewId, kind: str) -> None:
        """Messages of Meeting and AVChatRoom groups count for nobody, mentions included."""
        alice, bob = new_id("alice"), new_id("bob")
        g = await group(counters, new_id, [alice, bob], kind)
        assert [0] == await counters.ingest([GroupMessage("m1", bob, g, 1, at_all=True)])

    @pytest.mark.parametrize("kind", ["Work", "Public", "Community"])
    async def test_counting_group_types_count(self, counters: Any, new_id: NewId, kind: str) -> None:
        """Messages of Work, Public and Community groups count for every member but the sender."""
        alice, bob, carol = new_id("alice"), new_id("bob"), new_id("carol")
        g = await group(counters, new_id, [alice, bob, carol], kind)
        assert [2] == await counters.ingest([GroupMessage("m1", bob, g, 1)])

    async def test_recv_opt_1_receives_nothing(self, counters: Any, new_id: NewId) -> None:
        """With recv_opt 1 nothing counts, not even a mention; unmuting later does not count it afterwards."""
        alice, bob = new_id("alice"), new_id("bob")
        g = await group(counters, new_id, [alice, bob])
        await counters.set_recv_opt(alice, [f"group_{g}"], 1)
        assert [0] == await counters.ingest([GroupMessage("m1", bob, g, 1, at_all=True)])
        await counters.set_recv_opt(alice, [f"group_{g}"], 0)
        assert (0, 0) == await unread(counters, alice, f"group_{g}")

    async def test_recv_opt_4_receives_only_mentions(self, counters: Any, new_id: NewId) -> None:
        """With recv_opt 4 only messages that mention the user (`at` or `at_all`) count; they stay out of the total."""
        alice, bob, carol = new_id("alice"), new_id("bob"), new_id("carol")
        g = await group(counters, new_id, [alice, bob, carol])
        await counters.set_recv_opt(alice, [f"group_{g}"], 4)
        msgs = [
            GroupMessage("m1", bob, g, 1),
            GroupMessage("m2", bob, g, 2, at=frozenset({alice})),
            GroupMessage("m3", bob, g, 3, at=frozenset({carol})),
            GroupMessage("m4", bob, g, 4, at_all=True),
        ]
        assert [1, 2, 1, 2] == await counters.ingest(msgs)
        assert ((2, 2), 0) == (await unread(counters, alice, f"group_{g}"), (await counters.total(alice))[0])

    @pytest.mark.parametrize("opt", [2, 3])
    async def test_recv_opt_2_and_3_count_outside_the_total(self, counters: Any, new_id: NewId, opt: int) -> None:
        """With recv_opt 2 or 3 every message counts in the conversation, none in the total."""
        alice, bob = new_id("alice"), new_id("bob")
        await counters.set_recv_opt(alice, [f"c2c_{bob}"], opt)
        assert [1] == await counters.ingest([C2CMessage("m1", bob, alice, 1)])
        assert ((1, 0), 0) == (await unread(counters, alice, f"c2c_{bob}"), (await counters.total(alice))[0])

    async def test_explicit_recipients_replace_membership_for_one_message(self, counters: Any, new_id: NewId) -> None:
        """`recipients` counts the message for exactly those users (non-members too), the next one for the members."""
        alice, bob, carol, dave = new_id("alice"), new_id("bob"), new_id("carol"), new_id("dave")
        g = await group(counters, new_id, [alice, bob, carol])
        counted = await counters.ingest(
            [GroupMessage("m1", bob, g, 1, recipients=(dave,)), GroupMessage("m2", bob, g, 2)]
        )
        totals = [(await counters.total(u))[0] for u in (alice, carol, dave)]
        assert ([1, 2], [1, 1, 1]) == (counted, totals)

    async def test_messages_of_one_batch_from_different_members_count_for_each_other(
        self, counters: Any, new_id: NewId
    ) -> None:
        """In one batch, bob's message counts for alice and carol, then alice's counts for bob and carol."""
        alice, bob, carol = new_id("alice"), new_id("bob"), new_id("carol")
        g = await group(counters, new_id, [alice, bob, carol])
        counted = await counters.ingest([GroupMessage("m1", bob, g, 1), GroupMessage("m2", alice, g, 2)])
        assert ([2, 2], 1, 2) == (counted, (await counters.total(bob))[0], (await counters.total(carol))[0])


class TestCountedOnce:
    async def test_redelivery_counts_once(self, counters: Any, new_id: NewId) -> None:
        """The message id is the idempotency key: the same message delivered three times counts once."""
        alice, bob = new_id("alice"), new_id("bob")
        msg = C2CMessage("m1", bob, alice, 5)
        assert ([1, 0], [0]) == (await counters.ingest([msg, msg]), await counters.ingest([msg]))

    async def test_message_at_or_below_read_position_never_counts(self, counters: Any, new_id: NewId) -> None:
        """After a clean at 10, messages at 9 and 10 do not count; one at 11 does."""
        alice, bob = new_id("alice"), new_id("bob")
        await counters.clean(alice, f"c2c_{bob}", timestamp=10)
        msgs = [C2CMessage(f"m{t}", bob, alice, t) for t in (9, 10, 11)]
        assert [0, 0, 1] == await counters.ingest(msgs)

    async def test_cleaned_message_redelivered_does_not_count(self, counters: Any, new_id: NewId) -> None:
        """A message read and then delivered again does not count again."""
        alice, bob = new_id("alice"), new_id("bob")
        msg = C2CMessage("m1", bob, alice, 5)
        await counters.ingest([msg])
        await counters.clean(alice, f"c2c_{bob}")
        assert [0] == await counters.ingest([msg])

    async def test_recalled_message_delivered_later_never_counts(self, counters: Any, new_id: NewId) -> None:
        """A recall that arrives before its message leaves a tombstone: the late message does not count."""
        alice, bob = new_id("alice"), new_id("bob")
        assert [0] == await counters.recall([C2CRecall("m1", bob, alice)])
        assert [0, 1] == await counters.ingest([C2CMessage("m1", bob, alice, 5), C2CMessage("m2", bob, alice, 6)])


class TestUnreadAndMentions:
    async def test_unread_and_mentions_of_a_conversation(self, counters: Any, new_id: NewId) -> None:
        """unread counts the counted messages above the read position; mentions those of them that mention the user."""
        alice, bob = new_id("alice"), new_id("bob")
        g = await group(counters, new_id, [alice, bob])
        await counters.ingest(
            [
                GroupMessage("m1", bob, g, 1, at=frozenset({alice})),
                GroupMessage("m2", bob, g, 2),
                GroupMessage("m3", bob, g, 3, at_all=True),
            ]
        )
        before = await unread(counters, alice, f"group_{g}")
        await counters.clean(alice, f"group_{g}", sequence=1)
        assert ((3, 2), (2, 1)) == (before, await unread(counters, alice, f"group_{g}"))


class TestTotals:
    async def test_total_sums_only_recv_opt_0(self, counters: Any, new_id: NewId) -> None:
        """Five conversations with one unread each, recv_opt 0..4: the total is 1, each keeps its own unread."""
        alice = new_id("alice")
        senders = [new_id(f"s{opt}") for opt in range(5)]
        for opt, sender in enumerate(senders):
            await counters.set_recv_opt(alice, [f"c2c_{sender}"], opt)
        # recv_opt 1 never receives and 4 receives only mentions (none in C2C): three messages count.
        await counters.ingest([C2CMessage(f"m{i}", s, alice, 1) for i, s in enumerate(senders)])
        state = await counters.snapshot(alice)
        per_opt = {c.recv_opt: c.unread for c in state.conversations.values()}
        assert (1, {0: 1, 1: 0, 2: 1, 3: 1, 4: 0}) == (state.total, per_opt)

    async def test_muting_moves_unread_out_of_the_total_and_back(self, counters: Any, new_id: NewId) -> None:
        """Changing recv_opt never re-counts: the conversation's unread leaves the total and comes back unchanged."""
        alice, bob = new_id("alice"), new_id("bob")
        await counters.ingest([C2CMessage(f"m{t}", bob, alice, t) for t in (1, 2)])
        totals = []
        for opt in (2, 1, 0):
            await counters.set_recv_opt(alice, [f"c2c_{bob}"], opt)
            totals.append(((await counters.total(alice))[0], await unread(counters, alice, f"c2c_{bob}")))
        assert [(0, (2, 0)), (0, (2, 0)), (2, (2, 0))] == totals

    async def test_marks_never_change_counts(self, counters: Any, new_id: NewId) -> None:
        """Setting UNREAD, HIDE and a custom mark leaves the total and the conversation's unread as they were."""
        alice, bob = new_id("alice"), new_id("bob")
        await counters.ingest([C2CMessage("m1", bob, alice, 1)])
        await counters.mark(alice, [f"c2c_{bob}", f"c2c_{alice}"], 2 | 8 | 1 << 45, True)
        assert (1, (1, 0)) == ((await counters.total(alice))[0], await unread(counters, alice, f"c2c_{bob}"))

    async def test_filter_totals(self, counters: Any, new_id: NewId) -> None:
        """Filter totals: type, conversation group, every bit of mark, has_mention; all ANDed, recv_opt 0 only."""
        alice, bob, carol = new_id("alice"), new_id("bob"), new_id("carol")
        g = await group(counters, new_id, [alice, bob])
        await counters.ingest(
            [
                C2CMessage("m1", bob, alice, 1),
                C2CMessage("m2", carol, alice, 1),
                C2CMessage("m3", carol, alice, 2),
                GroupMessage("m4", bob, g, 1, at=frozenset({alice})),
            ]
        )
        await counters.mark(alice, [f"c2c_{carol}", f"group_{g}"], 1, True)
        await counters.mark(alice, [f"group_{g}"], 1 << 32, True)
        await counters.create_conversation_group(alice, "work", [f"c2c_{bob}", f"group_{g}"])
        filters = [
            Filter(),
            Filter(type=1),
            Filter(type=2),
            Filter(group="work"),
            Filter(mark=1),
            Filter(mark=1 | 1 << 32),
            Filter(has_mention=True),
            Filter(type=1, group="work", mark=1),
        ]
        totals = [(await counters.filter_total(alice, f))[0] for f in filters]
        await counters.set_recv_opt(alice, [f"group_{g}"], 2)
        assert ([4, 3, 1, 2, 3, 1, 1, 0], 0) == (totals, (await counters.filter_total(alice, Filter(type=2)))[0])
