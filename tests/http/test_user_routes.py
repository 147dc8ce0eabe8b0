"""A user's reading routes under /v1/users/{userID}: unread, conversations, clean (docs/protocol.md §4)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
import pytest
from support.gateway import SERVICE, as_user, c2c, error, ingest, ok, unread
from support.user_routes import inbox, listing

pytestmark = pytest.mark.anyio  # see test_service_routes.py

STAR, CUSTOM = 1, 1 << 63


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
