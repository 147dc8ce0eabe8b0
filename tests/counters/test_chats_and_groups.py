"""Group chats, conversation groups, and the validation errors of the counting core."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from support.counting import NewId, fails_without_change, group, unread

from counters.errors import Conflict, InvalidArgument, NotFound, ResourceExhausted
from counters.store import GroupChat
from counters.types import C2CMessage, C2CRecall, GroupMessage, GroupRecall


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
