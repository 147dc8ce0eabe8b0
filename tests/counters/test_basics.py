"""Examples of the counting rules against a real server (the state machine covers the rest)."""

from __future__ import annotations

from collections.abc import Callable

from counters.store import Counters
from counters.types import C2CMessage, GroupMessage


class TestC2C:
    async def test_message_counts_once_for_recipient(self, counters: Counters, new_id: Callable[[str], str]) -> None:
        """The same C2C message delivered twice counts once."""
        alice, bob = new_id("alice"), new_id("bob")
        msg = C2CMessage("m1", bob, alice, 100)
        assert [1, 0] == await counters.ingest([msg, msg])
        assert (1, 1) == await counters.total(alice)

    async def test_sender_is_not_counted(self, counters: Counters, new_id: Callable[[str], str]) -> None:
        """A message to oneself never counts."""
        alice = new_id("alice")
        assert [0] == await counters.ingest([C2CMessage("m1", alice, alice, 100)])
        assert (0, 0) == await counters.total(alice)


class TestGroup:
    async def test_meeting_group_never_counts(self, counters: Counters, new_id: Callable[[str], str]) -> None:
        """Meeting groups keep unread at 0."""
        alice, bob, g = new_id("alice"), new_id("bob"), new_id("g")
        await counters.put_group(g, "Meeting")
        await counters.edit_members(g, [alice, bob], [])
        assert [0] == await counters.ingest([GroupMessage("m1", bob, g, 1)])
        assert (0, 0) == await counters.total(alice)
