"""One example per rule of cleaning and recalling (docs/protocol.md §1, docs/counting.md)."""

from __future__ import annotations

from typing import Any

from support.counting import NewId, group, unread

from counters.types import C2CMessage, C2CRecall, GroupMessage, GroupRecall


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


class TestMutedConversations:
    """Cleaning or recalling in a conversation outside the total (recv_opt 2) leaves the total alone."""

    async def test_clean_of_a_muted_conversation_keeps_the_total(self, counters: Any, new_id: NewId) -> None:
        """A muted conversation's unread is not in the total, so cleaning it does not lower the total."""
        alice, bob, carol = new_id("alice"), new_id("bob"), new_id("carol")
        await counters.ingest([C2CMessage("m1", bob, alice, 10), C2CMessage("m2", carol, alice, 10)])
        await counters.set_recv_opt(alice, [f"c2c_{carol}"], 2)
        await counters.clean(alice, f"c2c_{carol}")
        state = await counters.snapshot(alice)
        assert (1, 0) == (state.total, state.conversations[f"c2c_{carol}"].unread)

    async def test_recall_in_a_muted_conversation_keeps_the_total(self, counters: Any, new_id: NewId) -> None:
        """Recalling an unread message of a muted conversation lowers its unread, not the total."""
        alice, bob, carol = new_id("alice"), new_id("bob"), new_id("carol")
        await counters.ingest([C2CMessage("m1", bob, alice, 10), C2CMessage("m2", carol, alice, 10)])
        await counters.set_recv_opt(alice, [f"c2c_{carol}"], 2)
        assert [1] == await counters.recall([C2CRecall("m2", carol, alice)])
        state = await counters.snapshot(alice)
        assert (1, 0) == (state.total, state.conversations[f"c2c_{carol}"].unread)


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
