"""Every request op of /v1/ws and its errors, over a real socket."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
from support.ws import Raw, send_c2c, user_token

NewId = Callable[[str], str]
Open = Callable[..., Awaitable[Raw]]


class TestReads:
    async def test_welcome_names_user_and_version(self, raw: Open, new_id: NewId) -> None:
        """The first frame is the welcome."""
        alice = new_id("alice")
        conn = await raw(alice)
        welcome = conn.frames[0]
        assert ("welcome", alice, 0, "reddot/0.1.0") == (
            welcome["type"],
            welcome["user"],
            welcome["ver"],
            welcome["server"],
        )

    async def test_get_conversations_lists_unread_first(
        self, raw: Open, service: httpx.AsyncClient, new_id: NewId
    ) -> None:
        """get_conversations returns the protocol's conversation objects."""
        alice, bob = new_id("alice"), new_id("bob")
        await send_c2c(service, bob, alice, "m1", 100)
        conn = await raw(alice)
        reply = await conn.request("get_conversations")
        expected = {
            "id": f"c2c_{bob}",
            "type": 1,
            "unread": 1,
            "mentions": 0,
            "recv_opt": 0,
            "marks": 0,
            "groups": [],
            "read_timestamp": 0,
            "read_sequence": 0,
        }
        assert (True, [expected], 1) == (reply["ok"], reply["conversations"], reply["ver"])

    async def test_get_unread_by_filter_is_one_off(self, raw: Open, service: httpx.AsyncClient, new_id: NewId) -> None:
        """A filter read returns its total and subscribes nothing."""
        alice, bob = new_id("alice"), new_id("bob")
        await send_c2c(service, bob, alice, "m1", 100)
        conn = await raw(alice)
        assert (await conn.request("get_unread_by_filter", filter={"type": 1}))["total"] == 1
        assert (await conn.request("get_unread_by_filter", rid=2, filter={"type": 2}))["total"] == 0


class TestWrites:
    async def test_clean_returns_cleaned_and_ver(self, raw: Open, service: httpx.AsyncClient, new_id: NewId) -> None:
        """clean up to a timestamp removes only the messages at or below it."""
        alice, bob = new_id("alice"), new_id("bob")
        for i, ts in enumerate((100, 101, 102)):
            await send_c2c(service, bob, alice, f"m{i}", ts)
        conn = await raw(alice)
        reply = await conn.request("clean", conversation=f"c2c_{bob}", timestamp=101)
        assert (reply["cleaned"], reply["ver"]) == (2, 4)

    async def test_settings_and_groups_round_trip(self, raw: Open, new_id: NewId) -> None:
        """recv_opt, marks and every conversation-group op answer with a growing ver; the group names
        read back on the same connection follow every create, rename and delete."""
        alice, bob = new_id("alice"), new_id("bob")
        conv = f"c2c_{bob}"
        conn = await raw(alice)
        steps = [
            ("set_recv_opt", {"conversations": [conv], "recv_opt": 2}, []),
            ("mark", {"conversations": [conv], "mark": 1 | 1 << 40, "enable": True}, []),
            ("create_conversation_group", {"name": "work", "conversations": []}, ["work"]),
            ("create_conversation_group", {"name": "home", "conversations": [conv]}, ["home", "work"]),
            ("add_to_conversation_group", {"name": "work", "conversations": [conv]}, ["home", "work"]),
            ("rename_conversation_group", {"name": "work", "new_name": "job"}, ["home", "job"]),
            ("remove_from_conversation_group", {"name": "job", "conversations": [conv]}, ["home", "job"]),
            ("delete_conversation_group", {"name": "job"}, ["home"]),
        ]
        vers, names = [], []
        for rid, (op, args, _) in enumerate(steps):
            reply = await conn.request(op, rid=rid, **args)
            assert reply["ok"], reply
            vers.append(reply["ver"])
            names.append((await conn.request("get_conversation_groups", rid=f"g{rid}"))["groups"])
        assert list(range(1, len(steps) + 1)) == vers
        assert [expected for _, _, expected in steps] == names

    async def test_refresh_with_another_users_token_is_refused(self, raw: Open, new_id: NewId) -> None:
        """refresh keeps the user: a token of someone else is permission_denied."""
        conn = await raw(new_id("alice"))
        reply = await conn.request("refresh", token=user_token(new_id("mallory")))
        assert reply["error"]["code"] == "permission_denied"
        assert (await conn.request("refresh", rid=2, token=user_token(new_id("x"), ttl=-10)))["error"]["code"] == (
            "unauthenticated"
        )


class TestErrors:
    async def test_bad_frames_get_error_replies(self, raw: Open, new_id: NewId) -> None:
        """Not JSON, not an object, no id, unknown op, bad arguments: clear error replies."""
        conn = await raw(new_id("alice"))
        cases = [
            ("{nope", None, "invalid_argument"),
            ("[1, 2]", None, "invalid_argument"),
            ('{"op": "ping"}', None, "invalid_argument"),
            ('{"id": 5, "op": "fly"}', 5, "invalid_argument"),
            ('{"id": 10, "op": ["get_total"]}', 10, "invalid_argument"),
            ('{"id": 11, "op": {"get_total": 1}}', 11, "invalid_argument"),
            ('{"id": 6, "op": "subscribe_filter", "filter": {"type": 9}}', 6, "invalid_argument"),
            ('{"id": 7, "op": "clean", "conversation": "dm_bob"}', 7, "invalid_argument"),
            ('{"id": 8, "op": "delete_conversation_group", "name": "nope"}', 8, "not_found"),
            ('{"id": 9, "op": "mark", "conversations": ["c2c_b"], "mark": 16, "enable": true}', 9, "invalid_argument"),
        ]
        for text, rid, code in cases:
            await conn.ws.send(text)
            reply = await conn.until(lambda f: "ok" in f)
            assert (rid, False, code) == (reply["id"], reply["ok"], reply["error"]["code"]), text
        await conn.ws.send(b"\x00binary")
        assert (await conn.until(lambda f: "ok" in f))["error"]["code"] == "invalid_argument"

    async def test_filter_subscriptions_are_capped_at_32(self, raw: Open, new_id: NewId) -> None:
        """The 33rd distinct filter is resource_exhausted; re-subscribing a known one is fine."""
        conn = await raw(new_id("alice"))
        for bit in range(32):
            assert (await conn.request("subscribe_filter", rid=bit, filter={"mark": 1 << (32 + bit)}))["ok"]
        reply = await conn.request("subscribe_filter", rid="x", filter={"type": 1})
        assert reply["error"]["code"] == "resource_exhausted"
        assert (await conn.request("subscribe_filter", rid="y", filter={"mark": 1 << 32}))["ok"]
