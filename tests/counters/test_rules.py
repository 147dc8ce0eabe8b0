"""One example per counting rule of docs/protocol.md §1–§2 (docs/counting.md), and the validation errors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from counters.errors import Conflict, InvalidArgument, NotFound, ReddotError, ResourceExhausted
from counters.store import GroupChat
from counters.types import C2CMessage, C2CRecall, Filter, GroupMessage, GroupRecall

NewId = Callable[[str], str]


async def unread(counters: Any, uid: str, cid: str) -> tuple[int, int]:
    """(unread, mentions) of one conversation."""
    conv = (await counters.snapshot(uid)).conversations.get(cid)
    return (conv.unread, conv.mentions) if conv else (0, 0)


async def group(counters: Any, new_id: NewId, members: list[str], kind: str = "Work") -> str:
    """A new group chat with these members; returns its ID."""
    gid = new_id("g")
    await counters.put_group(gid, kind)
    await counters.edit_members(gid, members, [])
    return gid


async def fails_without_change(counters: Any, uid: str, call: Awaitable[object]) -> type[ReddotError]:
    """Await a call that must raise; check it changed nothing of `uid`; return the error class."""
    before = await counters.snapshot(uid)
    with pytest.raises(ReddotError) as error:
        await call
    assert before == await counters.snapshot(uid)
    return type(error.value)


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


class TestClean:
    async def test_clean_c2c_by_timestamp_ignores_sequence(self, counters: Any, new_id: NewId) -> None:
        """A C2C clean removes messages with timestamp ≤ T; its sequence argument is ignored."""
        alice, bob = new_id("alice"), new_id("bob")
        await counters.ingest([C2CMessage(f"m{t}", bob, alice, t) for t in (10, 20, 30)])
        assert (2, 4) == await counters.clean(alice, f"c2c_{bob}", timestamp=20, sequence=99)
        assert (1, 0) == await unread(counters, alice, f"c2c_{bob}")

    async def test_clean_group_by_sequence_ignores_timestamp(self, counters: Any, new_id: NewId) -> None:
        """A group clean removes messages with seq ≤ S; its timestamp argument is ignored."""
        alice, bob = new_id("alice"), new_id("bob")
        g = await group(counters, new_id, [alice, bob])
        await counters.ingest([GroupMessage(f"m{s}", bob, g, s, timestamp=1000 + s) for s in (1, 2, 3)])
        assert (1, 4) == await counters.clean(alice, f"group_{g}", timestamp=5000, sequence=1)

    async def test_clean_with_zero_reads_everything_unread(self, counters: Any, new_id: NewId) -> None:
        """A clean with 0 reads up to the highest unread position: later messages below it do not count."""
        alice, bob = new_id("alice"), new_id("bob")
        await counters.ingest([C2CMessage(f"m{t}", bob, alice, t) for t in (10, 30)])
        assert (2, 3) == await counters.clean(alice, f"c2c_{bob}")
        assert ([0, 1], 30) == (
            await counters.ingest([C2CMessage("m20", bob, alice, 20), C2CMessage("m40", bob, alice, 40)]),
            (await counters.snapshot(alice)).conversations[f"c2c_{bob}"].read,
        )

    async def test_read_position_never_moves_back(self, counters: Any, new_id: NewId) -> None:
        """After a clean at 20, a clean at 10 changes nothing: same read position, same ver, 0 cleaned."""
        alice, bob = new_id("alice"), new_id("bob")
        await counters.clean(alice, f"c2c_{bob}", timestamp=20)
        assert (0, 1) == await counters.clean(alice, f"c2c_{bob}", timestamp=10)
        assert 20 == (await counters.snapshot(alice)).conversations[f"c2c_{bob}"].read

    async def test_positions_up_to_2_53_are_exact(self, counters: Any, new_id: NewId) -> None:
        """Timestamps just below 2^53 stay exact through count, clean and read position (Lua numbers are doubles)."""
        alice, bob = new_id("alice"), new_id("bob")
        top = 2**53 - 1
        await counters.ingest([C2CMessage("m1", bob, alice, top - 1), C2CMessage("m2", bob, alice, top)])
        cleaned = await counters.clean(alice, f"c2c_{bob}", timestamp=top - 1)
        conv = (await counters.snapshot(alice)).conversations[f"c2c_{bob}"]
        assert ((1, 3), 1, top - 1) == (cleaned, conv.unread, conv.read)

    async def test_bulk_clean_by_type(self, counters: Any, new_id: NewId) -> None:
        """Bulk "c2c" cleans every C2C conversation, "group" every group one, "" all; positions are ignored."""
        alice, bob, carol = new_id("alice"), new_id("bob"), new_id("carol")
        g = await group(counters, new_id, [alice, bob])
        await counters.ingest(
            [C2CMessage("m1", bob, alice, 1), C2CMessage("m2", carol, alice, 1), GroupMessage("m3", bob, g, 1)]
        )
        cleaned = [await counters.clean(alice, "c2c", timestamp=1, sequence=1)]
        left = (await counters.total(alice))[0]
        await counters.ingest([C2CMessage("m4", bob, alice, 2)])
        cleaned.append(await counters.clean(alice, "group"))
        cleaned.append(await counters.clean(alice, ""))
        assert ([(2, 4), (1, 6), (1, 7)], 1, 0) == (cleaned, left, (await counters.total(alice))[0])


class TestRecall:
    async def test_recall_removes_unread_message(self, counters: Any, new_id: NewId) -> None:
        """Recalling a message still unread removes it from unread, mentions and the total."""
        alice, bob = new_id("alice"), new_id("bob")
        g = await group(counters, new_id, [alice, bob])
        await counters.ingest([GroupMessage("m1", bob, g, 1, at=frozenset({alice})), C2CMessage("m2", bob, alice, 1)])
        recalled = await counters.recall([GroupRecall("m1", g), C2CRecall("m2", bob, alice)])
        assert ([1, 1], (0, 4)) == (recalled, await counters.total(alice))

    async def test_group_recall_reaches_former_members_and_explicit_recipients(
        self, counters: Any, new_id: NewId
    ) -> None:
        """A group recall visits members removed since and users reached through `recipients`."""
        alice, bob, carol, dave = new_id("alice"), new_id("bob"), new_id("carol"), new_id("dave")
        g = await group(counters, new_id, [alice, bob, carol])
        await counters.ingest([GroupMessage("m1", bob, g, 1), GroupMessage("m2", bob, g, 2, recipients=(dave,))])
        await counters.edit_members(g, [], [alice])
        recalled = await counters.recall([GroupRecall("m1", g), GroupRecall("m2", g)])
        assert ([2, 1], [0, 0, 0]) == (recalled, [(await counters.total(u))[0] for u in (alice, carol, dave)])

    async def test_recall_of_read_message_changes_nothing(self, counters: Any, new_id: NewId) -> None:
        """Recalling a message already read removes nothing: the read position and counts stay."""
        alice, bob = new_id("alice"), new_id("bob")
        await counters.ingest([C2CMessage("m1", bob, alice, 1)])
        await counters.clean(alice, f"c2c_{bob}")
        before = await counters.snapshot(alice)
        assert ([0], before) == (await counters.recall([C2CRecall("m1", bob, alice)]), await counters.snapshot(alice))


class TestGroupChats:
    async def test_put_group_is_idempotent_but_type_is_fixed(self, counters: Any, new_id: NewId) -> None:
        """PUT with the same type confirms the group; another type is a Conflict and changes nothing."""
        g, alice = new_id("g"), new_id("alice")
        await counters.put_group(g, "Work")
        await counters.edit_members(g, [alice], [])
        assert GroupChat(g, "Work", 1) == await counters.put_group(g, "Work")
        with pytest.raises(Conflict):
            await counters.put_group(g, "Meeting")
        assert GroupChat(g, "Work", 1) == await counters.get_group(g)

    async def test_unknown_group_is_not_found_for_the_whole_batch(self, counters: Any, new_id: NewId) -> None:
        """Ingest or recall naming a group never PUT raises NotFound and counts nothing of the batch."""
        alice, bob, g = new_id("alice"), new_id("bob"), new_id("g")
        batch = [C2CMessage("m1", bob, alice, 1), GroupMessage("m2", bob, g, 1)]
        assert NotFound == await fails_without_change(counters, alice, counters.ingest(batch))
        assert NotFound == await fails_without_change(counters, alice, counters.recall([GroupRecall("m2", g)]))
        assert NotFound == await fails_without_change(counters, alice, counters.edit_members(g, [alice], []))

    async def test_deleted_group_keeps_unread_and_refuses_messages(self, counters: Any, new_id: NewId) -> None:
        """Deleting a group chat keeps its members' unread; its messages and recalls are then NotFound."""
        alice, bob = new_id("alice"), new_id("bob")
        g = await group(counters, new_id, [alice, bob])
        await counters.ingest([GroupMessage("m1", bob, g, 1)])
        await counters.delete_group(g)
        assert NotFound == await fails_without_change(counters, alice, counters.recall([GroupRecall("m1", g)]))
        assert NotFound == await fails_without_change(counters, alice, counters.get_group(g))
        assert (1, 0) == await unread(counters, alice, f"group_{g}")


class TestConversationGroups:
    async def test_conversations_keep_their_counts_and_list_their_groups(self, counters: Any, new_id: NewId) -> None:
        """A conversation in two conversation groups keeps its unread and lists both groups."""
        alice, bob = new_id("alice"), new_id("bob")
        await counters.ingest([C2CMessage("m1", bob, alice, 1)])
        await counters.create_conversation_group(alice, "work", [f"c2c_{bob}"])
        await counters.create_conversation_group(alice, "家人", [f"c2c_{bob}"])
        conv = (await counters.snapshot(alice)).conversations[f"c2c_{bob}"]
        assert (1, ["work", "家人"]) == (conv.unread, sorted(conv.groups))

    async def test_create_errors(self, counters: Any, new_id: NewId) -> None:
        """Create: a taken name is a Conflict; the 21st group is ResourceExhausted; neither changes anything."""
        alice = new_id("alice")
        for i in range(20):
            await counters.create_conversation_group(alice, f"group {i}", [])
        errors = [
            await fails_without_change(counters, alice, counters.create_conversation_group(alice, "group 3", [])),
            await fails_without_change(counters, alice, counters.create_conversation_group(alice, "one more", [])),
        ]
        assert [Conflict, ResourceExhausted] == errors

    async def test_rename_errors(self, counters: Any, new_id: NewId) -> None:
        """Rename: an unknown name is NotFound; a taken new name, or the same name, is a Conflict."""
        alice = new_id("alice")
        await counters.create_conversation_group(alice, "a", [])
        await counters.create_conversation_group(alice, "b", [])
        errors = [
            await fails_without_change(counters, alice, counters.rename_conversation_group(alice, "x", "y")),
            await fails_without_change(counters, alice, counters.rename_conversation_group(alice, "a", "b")),
            await fails_without_change(counters, alice, counters.rename_conversation_group(alice, "a", "a")),
        ]
        assert [NotFound, Conflict, Conflict] == errors

    async def test_delete_and_edit_of_unknown_group_are_not_found(self, counters: Any, new_id: NewId) -> None:
        """Delete and edit (with or without conversations to move) of an unknown name are NotFound."""
        alice, bob = new_id("alice"), new_id("bob")
        errors = [
            await fails_without_change(counters, alice, counters.delete_conversation_group(alice, "nope")),
            await fails_without_change(
                counters, alice, counters.edit_conversation_group(alice, "nope", [f"c2c_{bob}"])
            ),
            await fails_without_change(counters, alice, counters.edit_conversation_group(alice, "nope", [], [])),
        ]
        assert [NotFound, NotFound, NotFound] == errors

    async def test_group_of_1000_conversations_is_full(self, counters: Any, new_id: NewId) -> None:
        """A group holds at most 1000 conversations: adding one more is ResourceExhausted; swapping one is fine."""
        alice = new_id("alice")
        convs = [f"c2c_u{i}" for i in range(1000)]
        await counters.create_conversation_group(alice, "big", convs)
        error = await fails_without_change(
            counters, alice, counters.edit_conversation_group(alice, "big", add=["c2c_extra"])
        )
        await counters.edit_conversation_group(alice, "big", add=["c2c_extra"], remove=["c2c_u0"])
        assert (ResourceExhausted, 1000) == (error, (await counters.snapshot(alice)).groups["big"])

    async def test_failed_edit_changes_nothing(self, counters: Any, new_id: NewId) -> None:
        """Removing one conversation and adding two to a full group is ResourceExhausted and removes nothing."""
        alice = new_id("alice")
        convs = [f"c2c_u{i}" for i in range(1000)]
        await counters.create_conversation_group(alice, "big", convs)
        edit = counters.edit_conversation_group(alice, "big", add=["c2c_x", "c2c_y"], remove=["c2c_u0"])
        assert ResourceExhausted == await fails_without_change(counters, alice, edit)


class TestValidation:
    @pytest.mark.parametrize(
        "call",
        [
            pytest.param(lambda c, u: c.clean("bad user", "c2c_bob"), id="clean: user with a space"),
            pytest.param(lambda c, u: c.clean("x" * 65, "c2c_bob"), id="clean: user of 65 characters"),
            pytest.param(lambda c, u: c.clean(u, "c2c_{bob}"), id="clean: conversation with braces"),
            pytest.param(lambda c, u: c.clean(u, "dm_bob"), id="clean: unknown conversation type"),
            pytest.param(lambda c, u: c.clean(u, "c2c_bob", timestamp=-1), id="clean: negative timestamp"),
            pytest.param(lambda c, u: c.clean(u, "group_g", sequence=2**53), id="clean: sequence of 2^53"),
            pytest.param(lambda c, u: c.set_recv_opt(u, ["c2c_bob"], 5), id="recv_opt 5"),
            pytest.param(lambda c, u: c.set_recv_opt(u, ["c2c_bob"], True), id="recv_opt true"),
            pytest.param(lambda c, u: c.set_recv_opt(u, [f"c2c_u{i}" for i in range(101)], 1), id="101 conversations"),
            pytest.param(lambda c, u: c.set_recv_opt(u, ["c2c_bob", "c2c"], 1), id="bulk id in a list"),
            pytest.param(lambda c, u: c.mark(u, ["c2c_bob"], 0, True), id="mark 0"),
            pytest.param(lambda c, u: c.mark(u, ["c2c_bob"], 1 << 4, True), id="mark bit 4 (reserved)"),
            pytest.param(lambda c, u: c.mark(u, ["c2c_bob"], 1 << 31, True), id="mark bit 31 (reserved)"),
            pytest.param(lambda c, u: c.mark(u, ["c2c_bob"], 1 << 64, True), id="mark of 65 bits"),
            pytest.param(lambda c, u: c.mark(u, ["c2c_bob"], -1, True), id="negative mark"),
            pytest.param(lambda c, u: c.mark(u, [f"c2c_u{i}" for i in range(101)], 1, True), id="mark 101 convs"),
            pytest.param(lambda c, u: c.create_conversation_group(u, "", []), id="empty group name"),
            pytest.param(lambda c, u: c.create_conversation_group(u, "n" * 33, []), id="33-byte name"),
            pytest.param(lambda c, u: c.create_conversation_group(u, "家" * 11, []), id="33-byte UTF-8 name"),
            pytest.param(lambda c, u: c.create_conversation_group(u, "a\nb", []), id="name with a newline"),
            pytest.param(
                lambda c, u: c.create_conversation_group(u, "big", [f"c2c_u{i}" for i in range(1001)]),
                id="1001 conversations in a group",
            ),
            pytest.param(lambda c, u: c.put_group("g", "Party"), id="unknown group type"),
            pytest.param(lambda c, u: c.put_group("g/1", "Work"), id="group ID with a slash"),
            pytest.param(lambda c, u: c.edit_members("g", ["ok", "not ok"], []), id="bad member ID"),
        ],
    )
    async def test_invalid_argument_changes_nothing(
        self, counters: Any, new_id: NewId, call: Callable[[Any, str], Awaitable[object]]
    ) -> None:
        """Each invalid input raises InvalidArgument before any write."""
        alice = new_id("alice")
        await counters.ingest([C2CMessage("m1", "bob", alice, 1)])
        assert InvalidArgument == await fails_without_change(counters, alice, call(counters, alice))

    @pytest.mark.parametrize(
        "bad",
        [
            pytest.param(lambda a, g: C2CMessage("m1", "bob", f"{a} x", 1), id="recipient with a space"),
            pytest.param(lambda a, g: C2CMessage("m1", "b}ob", a, 1), id="sender with a brace"),
            pytest.param(lambda a, g: C2CMessage("", "bob", a, 1), id="empty message id"),
            pytest.param(lambda a, g: C2CMessage("m\n1", "bob", a, 1), id="message id with a newline"),
            pytest.param(lambda a, g: C2CMessage("m" * 129, "bob", a, 1), id="message id of 129 characters"),
            pytest.param(lambda a, g: C2CMessage("m1", "bob", a, -1), id="negative timestamp"),
            pytest.param(lambda a, g: C2CMessage("m1", "bob", a, 2**53), id="timestamp of 2^53"),
            pytest.param(lambda a, g: GroupMessage("m1", "bob", g, 0), id="group seq 0"),
            pytest.param(lambda a, g: GroupMessage("m1", "bob", f"{g}/x", 1), id="group ID with a slash"),
            pytest.param(lambda a, g: GroupMessage("m1", "bob", g, 1, at=frozenset({"a b"})), id="bad mention"),
            pytest.param(lambda a, g: GroupMessage("m1", "bob", g, 1, recipients=(a, "a/b")), id="bad recipient"),
        ],
    )
    async def test_invalid_message_is_refused_with_its_batch(
        self, counters: Any, new_id: NewId, bad: Callable[[str, str], object]
    ) -> None:
        """A message with a bad ID, position or recipient is InvalidArgument, and no message of its batch counts."""
        alice = new_id("alice")
        g = await group(counters, new_id, [alice, "bob"])
        batch = [C2CMessage("ok", "bob", alice, 5), GroupMessage("ok", "bob", g, 5), bad(alice, g)]
        assert InvalidArgument == await fails_without_change(counters, alice, counters.ingest(batch))

    @pytest.mark.parametrize(
        "bad",
        [
            pytest.param(lambda a, g: C2CRecall("", "bob", a), id="empty message id"),
            pytest.param(lambda a, g: C2CRecall("m1", "b ob", a), id="sender with a space"),
            pytest.param(lambda a, g: GroupRecall("m1", "{" + g + "}"), id="group with braces"),
        ],
    )
    async def test_invalid_recall_is_refused_with_its_batch(
        self, counters: Any, new_id: NewId, bad: Callable[[str, str], object]
    ) -> None:
        """A recall with a bad message or user ID is InvalidArgument, and no recall of its batch applies."""
        alice = new_id("alice")
        g = await group(counters, new_id, [alice, "bob"])
        await counters.ingest([C2CMessage("m1", "bob", alice, 1), GroupMessage("m2", "bob", g, 1)])
        batch = [C2CRecall("m1", "bob", alice), GroupRecall("m2", g), bad(alice, g)]
        assert InvalidArgument == await fails_without_change(counters, alice, counters.recall(batch))
