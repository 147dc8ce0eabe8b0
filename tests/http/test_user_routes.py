"""A user's routes under /v1/users/{userID} (docs/protocol.md §4)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
import pytest
from support.gateway import SERVICE, as_user, c2c, error, grp, ingest, make_group, ok, unread

pytestmark = pytest.mark.anyio  # see test_service_routes.py

STAR, CUSTOM = 1, 1 << 63


async def inbox(http: httpx.AsyncClient, users: Any) -> tuple[str, str, str]:
    """alice with 2 unread from bob (C2C) and 3 from group g (one mentions her): (alice, bob, g)."""
    alice, bob, g = users("alice", "bob", "g")
    await make_group(http, g, [alice, bob])
    await ingest(
        http,
        c2c("c1", bob, alice, 100),
        c2c("c2", bob, alice, 200),
        grp("g1", bob, g, 1),
        grp("g2", bob, g, 2, at=[alice]),
        grp("g3", bob, g, 3),
    )
    return alice, bob, g


async def listing(http: httpx.AsyncClient, user: str, unread_only: str = "true") -> dict[str, dict[str, Any]]:
    """The user's conversations by ID."""
    reply = await ok(http, "GET", f"/v1/users/{user}/conversations", params={"unread_only": unread_only})
    return {conv["id"]: conv for conv in reply["conversations"]}


class TestUnread:
    async def test_total_and_ver(self, http: httpx.AsyncClient, users: Any) -> None:
        """GET unread is the total with the user's version."""
        alice, _, _ = await inbox(http, users)
        expected = {"total": 5, "ver": 5}
        assert expected == await ok(http, "GET", f"/v1/users/{alice}/unread")

    async def test_unknown_user_has_nothing(self, http: httpx.AsyncClient, users: Any) -> None:
        """A user never seen has total 0 at ver 0."""
        (nobody,) = users("nobody")
        expected = {"total": 0, "ver": 0}
        assert expected == await ok(http, "GET", f"/v1/users/{nobody}/unread")

    async def test_filter_parameters_make_a_filter_total(self, http: httpx.AsyncClient, users: Any) -> None:
        """type, has_mention, mark and group each narrow the total."""
        alice, bob, g = await inbox(http, users)
        await ok(
            http, "POST", f"/v1/users/{alice}/marks", {"conversations": [f"c2c_{bob}"], "mark": STAR, "enable": True}
        )
        await ok(
            http, "POST", f"/v1/users/{alice}/conversation-groups", {"name": "work", "conversations": [f"group_{g}"]}
        )
        queries: list[dict[str, Any]] = [
            {"type": 0}, {"type": 1}, {"type": 2}, {"has_mention": "true"}, {"has_mention": "false"},
            {"mark": STAR}, {"group": "work"}, {"group": ""}, {"type": 1, "group": "work"}, {"group": "nope"},
        ]  # fmt: skip
        expected = [5, 2, 3, 3, 5, 2, 3, 5, 0, 0]
        assert expected == [await unread(http, alice, **query) for query in queries]

    @pytest.mark.parametrize(
        "query",
        [
            {"type": "3"},
            {"type": "one"},
            {"type": "-1"},
            {"mark": "abc"},
            {"mark": "16"},
            {"mark": str(2**64)},
            {"has_mention": "maybe"},
            {"group": "g" * 33},
        ],
    )
    async def test_bad_filter_is_invalid(self, http: httpx.AsyncClient, query: dict[str, str]) -> None:
        """Out-of-range or malformed filter parameters are 400."""
        response = await http.get("/v1/users/alice/unread", params=query, headers=SERVICE)
        expected = (400, "invalid_argument")
        assert expected == error(response)


class TestUserID:
    @pytest.mark.parametrize(
        "path", ["/v1/users/a%20b/unread", "/v1/users/a%2Fb/conversations", "/v1/users/{x}/unread"]
    )
    async def test_bad_user_id_is_invalid(self, http: httpx.AsyncClient, path: str) -> None:
        """A userID outside the protocol's alphabet is 400."""
        response = await http.get(path, headers=SERVICE)
        expected = (400, "invalid_argument")
        assert expected == error(response)

    async def test_any_valid_user_id_round_trips(self, http: httpx.AsyncClient, users: Any) -> None:
        """IDs with @ # . - _ work in paths (percent-encoded) and in tokens."""
        (base,) = users("a")
        user = f"{base}.b@c#d"
        await ingest(http, c2c("m1", "bob", user))
        reply = await ok(http, "GET", f"/v1/users/{quote(user, safe='')}/unread", headers=as_user(user))
        expected = {"total": 1, "ver": 1}
        assert expected == reply


class TestConversations:
    async def test_lists_unread_conversations(self, http: httpx.AsyncClient, users: Any) -> None:
        """Conversations come with counts and settings, in ID order, the listing whole (next_cursor null)."""
        alice, bob, g = await inbox(http, users)
        reply = await ok(http, "GET", f"/v1/users/{alice}/conversations")
        expected_group = {
            "id": f"group_{g}", "type": 2, "unread": 3, "mentions": 1, "recv_opt": 0, "marks": 0, "groups": [],
            "read_timestamp": 0, "read_sequence": 0,
        }  # fmt: skip
        assert (5, [f"c2c_{bob}", f"group_{g}"], expected_group, None) == (
            reply["ver"],
            [c["id"] for c in reply["conversations"]],
            reply["conversations"][1],
            reply["next_cursor"],
        )

    async def test_unread_only_false_keeps_read_conversations(self, http: httpx.AsyncClient, users: Any) -> None:
        """After a clean, a read conversation is listed only with unread_only=false."""
        alice, bob, _ = await inbox(http, users)
        await ok(http, "POST", f"/v1/users/{alice}/clean", {"conversation": f"c2c_{bob}"})
        only_unread, everything = await listing(http, alice), await listing(http, alice, "false")
        expected = (False, 200)
        assert expected == (f"c2c_{bob}" in only_unread, everything[f"c2c_{bob}"]["read_timestamp"])

    async def test_bad_unread_only_is_invalid(self, http: httpx.AsyncClient) -> None:
        """unread_only must be true or false."""
        response = await http.get("/v1/users/alice/conversations?unread_only=perhaps", headers=SERVICE)
        expected = (400, "invalid_argument")
        assert expected == error(response)


class TestClean:
    async def test_clean_c2c_up_to_timestamp(self, http: httpx.AsyncClient, users: Any) -> None:
        """Clean with a timestamp removes C2C messages at or below it."""
        alice, bob, _ = await inbox(http, users)
        reply = await ok(http, "POST", f"/v1/users/{alice}/clean", {"conversation": f"c2c_{bob}", "timestamp": 150})
        expected = ({"cleaned": 1, "ver": 6}, 4)
        assert expected == (reply, await unread(http, alice))

    async def test_clean_group_up_to_sequence(self, http: httpx.AsyncClient, users: Any) -> None:
        """Clean with a sequence removes group messages at or below it (mentions included)."""
        alice, _, g = await inbox(http, users)
        body = {"conversation": f"group_{g}", "sequence": 2, "timestamp": 10**9}
        reply = await ok(http, "POST", f"/v1/users/{alice}/clean", body)
        conv = (await listing(http, alice))[f"group_{g}"]
        expected = (2, 1, 0, 2)
        assert expected == (reply["cleaned"], conv["unread"], conv["mentions"], conv["read_sequence"])

    @pytest.mark.parametrize(("conversation", "left"), [("c2c", 3), ("group", 2), ("", 0)])
    async def test_bulk_clean(self, http: httpx.AsyncClient, users: Any, conversation: str, left: int) -> None:
        """`c2c`, `group` and `""` clean every conversation of that kind."""
        alice, _, _ = await inbox(http, users)
        reply = await ok(http, "POST", f"/v1/users/{alice}/clean", {"conversation": conversation})
        assert (5 - left, left) == (reply["cleaned"], await unread(http, alice))

    @pytest.mark.parametrize(
        "body",
        [
            {},
            {"conversation": "bob"},
            {"conversation": ["c2c"]},
            {"conversation": "c2c_bob", "timestamp": -1},
            {"conversation": "c2c_bob", "timestamp": "5"},
            {"conversation": "group_g", "sequence": 2**53},
        ],
    )
    async def test_bad_clean_is_invalid(self, http: httpx.AsyncClient, body: Any) -> None:
        """A missing or malformed conversation or position is 400."""
        response = await http.post("/v1/users/alice/clean", json=body, headers=SERVICE)
        expected = (400, "invalid_argument")
        assert expected == error(response)


class TestRecvOpt:
    async def test_muted_conversation_leaves_the_total(self, http: httpx.AsyncClient, users: Any) -> None:
        """recv_opt 2 takes the conversation out of the total; it keeps its own unread."""
        alice, _, g = await inbox(http, users)
        reply = await ok(http, "POST", f"/v1/users/{alice}/recv-opt", {"conversations": [f"group_{g}"], "recv_opt": 2})
        conv = (await listing(http, alice))[f"group_{g}"]
        expected = ({"ver": 6}, 2, (3, 2))
        assert expected == (reply, await unread(http, alice), (conv["unread"], conv["recv_opt"]))

    @pytest.mark.parametrize(
        "body",
        [
            {"conversations": ["c2c_bob"], "recv_opt": 5},
            {"conversations": ["c2c_bob"], "recv_opt": True},
            {"conversations": ["c2c_bob"]},
            {"conversations": "c2c_bob", "recv_opt": 1},
            {"conversations": [f"c2c_u{i}" for i in range(101)], "recv_opt": 1},
        ],
    )
    async def test_bad_recv_opt_is_invalid(self, http: httpx.AsyncClient, body: Any) -> None:
        """recv_opt outside 0-4, missing fields and over 100 conversations are 400."""
        response = await http.post("/v1/users/alice/recv-opt", json=body, headers=SERVICE)
        expected = (400, "invalid_argument")
        assert expected == error(response)


class TestMarks:
    async def test_marks_are_set_and_cleared(self, http: httpx.AsyncClient, users: Any) -> None:
        """Standard and 64-bit custom mark bits are set, reported, and cleared; counts never change."""
        alice, bob, _ = await inbox(http, users)
        conv = f"c2c_{bob}"
        url = f"/v1/users/{alice}/marks"
        await ok(http, "POST", url, {"conversations": [conv], "mark": STAR | CUSTOM, "enable": True})
        marked = (await listing(http, alice))[conv]["marks"]
        await ok(http, "POST", url, {"conversations": [conv], "mark": STAR, "enable": False})
        cleared = (await listing(http, alice))[conv]["marks"]
        expected = (STAR | CUSTOM, CUSTOM, 5)
        assert expected == (marked, cleared, await unread(http, alice))

    @pytest.mark.parametrize(
        "body",
        [
            {"conversations": ["c2c_bob"], "mark": 0, "enable": True},
            {"conversations": ["c2c_bob"], "mark": 16, "enable": True},
            {"conversations": ["c2c_bob"], "mark": 1},
            {"conversations": ["c2c_bob"], "mark": 1, "enable": "yes"},
            {"conversations": ["nope"], "mark": 1, "enable": True},
        ],
    )
    async def test_bad_marks_are_invalid(self, http: httpx.AsyncClient, body: Any) -> None:
        """Zero or reserved mark bits, a missing or non-boolean enable, and bad IDs are 400."""
        response = await http.post("/v1/users/alice/marks", json=body, headers=SERVICE)
        expected = (400, "invalid_argument")
        assert expected == error(response)


class TestConversationGroups:
    async def test_lifecycle(self, http: httpx.AsyncClient, users: Any) -> None:
        """Create, list, edit, rename and delete a conversation group."""
        (alice,) = users("alice")
        base = f"/v1/users/{alice}/conversation-groups"
        created = await ok(http, "POST", base, {"name": "work", "conversations": ["c2c_bob"]})
        listed = await ok(http, "GET", base)
        edited = await ok(http, "POST", f"{base}/work/conversations", {"add": ["group_g"], "remove": ["c2c_bob"]})
        renamed = await ok(http, "PATCH", f"{base}/work", {"new_name": "job"})
        members = (await listing(http, alice, "false"))["group_g"]["groups"]
        deleted = await http.delete(f"{base}/job", headers=SERVICE)
        expected = ({"ver": 1}, {"groups": ["work"]}, {"ver": 2}, {"ver": 3}, ["job"], 204, {"groups": []})
        assert expected == (
            created,
            listed,
            edited,
            renamed,
            members,
            deleted.status_code,
            await ok(http, "GET", base),
        )

    @pytest.mark.parametrize("name", ["a/b", "travail é", "100%", "#tag?x", "日本語"])
    async def test_names_travel_percent_encoded(self, http: httpx.AsyncClient, users: Any, name: str) -> None:
        """Any UTF-8 name, `/` included, works as a percent-encoded path segment."""
        (alice,) = users("alice")
        base = f"/v1/users/{alice}/conversation-groups"
        await ok(http, "POST", base, {"name": name})
        await ok(http, "POST", f"{base}/{quote(name, safe='')}/conversations", {"add": ["c2c_bob"]})
        groups = (await listing(http, alice, "false"))["c2c_bob"]["groups"]
        deleted = await http.delete(f"{base}/{quote(name, safe='')}", headers=SERVICE)
        assert ([name], 204) == (groups, deleted.status_code)

    @pytest.mark.parametrize(
        ("method", "suffix", "body"),
        [("PATCH", "", {"new_name": "x"}), ("DELETE", "", None), ("POST", "/conversations", {"add": ["c2c_bob"]})],
    )
    async def test_unknown_name_is_404(
        self, http: httpx.AsyncClient, users: Any, method: str, suffix: str, body: Any
    ) -> None:
        """Renaming, deleting or editing a conversation group that does not exist is 404."""
        (alice,) = users("alice")
        url = f"/v1/users/{alice}/conversation-groups/missing{suffix}"
        response = await http.request(method, url, json=body, headers=SERVICE)
        expected = (404, "not_found")
        assert expected == error(response)

    async def test_taken_names_conflict(self, http: httpx.AsyncClient, users: Any) -> None:
        """Creating a name twice, or renaming onto a taken name, is 409."""
        (alice,) = users("alice")
        base = f"/v1/users/{alice}/conversation-groups"
        await ok(http, "POST", base, {"name": "a"})
        await ok(http, "POST", base, {"name": "b"})
        again = await http.post(base, json={"name": "a"}, headers=SERVICE)
        onto = await http.patch(f"{base}/a", json={"new_name": "b"}, headers=SERVICE)
        expected = ((409, "conflict"), (409, "conflict"))
        assert expected == (error(again), error(onto))

    async def test_twenty_first_group_is_exhausted(self, http: httpx.AsyncClient, users: Any) -> None:
        """A user holds at most 20 conversation groups: the 21st is 429."""
        (alice,) = users("alice")
        base = f"/v1/users/{alice}/conversation-groups"
        for i in range(20):
            await ok(http, "POST", base, {"name": f"g{i}"})
        response = await http.post(base, json={"name": "g20"}, headers=SERVICE)
        expected = ((429, "resource_exhausted"), 20)
        assert expected == (error(response), len((await ok(http, "GET", base))["groups"]))

    @pytest.mark.parametrize(
        ("method", "suffix", "body"),
        [
            ("POST", "", {"conversations": ["c2c_bob"]}),
            ("POST", "", {"name": "x" * 33}),
            ("POST", "", {"name": "tab\there"}),
            ("POST", "", {"name": 7}),
            ("POST", "", {"name": "big", "conversations": [f"c2c_u{i}" for i in range(1001)]}),
            ("PATCH", "/work", {}),
            ("PATCH", "/work", {"new_name": ""}),
            ("PATCH", "/" + "x" * 33, {"new_name": "y"}),
            ("PATCH", "/%FF", {"new_name": "y"}),
            ("POST", "/work/conversations", {}),
            ("POST", "/work/conversations", {"add": ["bob"]}),
            ("POST", "/work/conversations", {"add": [f"c2c_u{i}" for i in range(1001)]}),
        ],
    )
    async def test_bad_request_is_invalid(self, http: httpx.AsyncClient, method: str, suffix: str, body: Any) -> None:
        """Bad names (too long, control characters, not UTF-8), missing fields and oversized lists are 400."""
        response = await http.request(
            method, f"/v1/users/alice/conversation-groups{suffix}", json=body, headers=SERVICE
        )
        expected = (400, "invalid_argument")
        assert expected == error(response)

    async def test_user_token_manages_own_groups(self, http: httpx.AsyncClient, users: Any) -> None:
        """A user's own token reaches every conversation-group route of that user."""
        (alice,) = users("alice")
        headers = as_user(alice)
        base = f"/v1/users/{alice}/conversation-groups"
        await ok(http, "POST", base, {"name": "mine"}, headers=headers)
        expected = {"groups": ["mine"]}
        assert expected == await ok(http, "GET", base, headers=headers)
