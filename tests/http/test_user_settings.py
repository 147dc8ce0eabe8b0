"""A user's settings routes: receive options, marks, conversation groups (docs/protocol.md §4)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
import pytest
from support.gateway import SERVICE, as_user, error, ok, unread
from support.user_routes import inbox, listing

pytestmark = pytest.mark.anyio  # see test_service_routes.py

STAR, CUSTOM = 1, 1 << 63


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
