"""The IM backend's routes: messages, recalls, group chats (docs/protocol.md §4)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from support.gateway import SERVICE, c2c, error, grp, ingest, make_group, ok, unread

# Module-level, so anyio sees the marker while collecting: a marker added only by the shared
# conftest after collection makes anyio replace the item and drop its parametrization.
pytestmark = pytest.mark.anyio


class TestMessages:
    async def test_c2c_message_counts_for_recipient(self, http: httpx.AsyncClient, users: Any) -> None:
        """A C2C message counts once for `to` and the reply says so per message."""
        alice, bob = users("alice", "bob")
        response = await http.post("/v1/messages", json={"messages": [c2c("m1", bob, alice)]}, headers=SERVICE)
        expected = (200, {"results": [{"id": "m1", "counted": 1}]}, 1)
        assert expected == (response.status_code, response.json(), await unread(http, alice))

    async def test_results_follow_request_order(self, http: httpx.AsyncClient, users: Any) -> None:
        """Results come back in request order; a redelivery and a self-message count 0."""
        alice, bob = users("alice", "bob")
        counted = await ingest(http, c2c("m1", bob, alice), c2c("m1", bob, alice), c2c("m2", bob, bob))
        expected = [1, 0, 0]
        assert expected == counted

    async def test_group_message_counts_for_members_but_sender(self, http: httpx.AsyncClient, users: Any) -> None:
        """A group message counts for every member except its sender."""
        alice, bob, carol, g = users("alice", "bob", "carol", "g")
        await make_group(http, g, [alice, bob, carol])
        counted = await ingest(http, grp("m1", bob, g, 1))
        expected = ([2], [1, 0, 1])
        assert expected == (counted, [await unread(http, u) for u in (alice, bob, carol)])

    async def test_recipients_replace_membership(self, http: httpx.AsyncClient, users: Any) -> None:
        """`recipients` overrides the stored members for that one message."""
        alice, bob, carol, g = users("alice", "bob", "carol", "g")
        await make_group(http, g, [alice, bob])
        counted = await ingest(http, grp("m1", bob, g, 1, recipients=[carol]))
        expected = ([1], [0, 1])
        assert expected == (counted, [await unread(http, alice), await unread(http, carol)])

    async def test_mentions_are_counted(self, http: httpx.AsyncClient, users: Any) -> None:
        """`at` and `at_all` make the message count as a mention."""
        alice, bob, carol, g = users("alice", "bob", "carol", "g")
        await make_group(http, g, [alice, bob, carol])
        await ingest(http, grp("m1", bob, g, 1, at=[alice]), grp("m2", bob, g, 2, at_all=True))
        expected = {alice: 2, carol: 1}
        actual = {}
        for user in (alice, carol):
            listing = await ok(http, "GET", f"/v1/users/{user}/conversations")
            actual[user] = listing["conversations"][0]["mentions"]
        assert expected == actual

    async def test_excluded_message_never_counts(self, http: httpx.AsyncClient, users: Any) -> None:
        """An excluded message counts for no one."""
        alice, bob = users("alice", "bob")
        expected = [0]
        assert expected == await ingest(http, c2c("m1", bob, alice, excluded=True))

    async def test_meeting_group_never_counts(self, http: httpx.AsyncClient, users: Any) -> None:
        """Meeting groups keep unread at 0."""
        alice, bob, g = users("alice", "bob", "g")
        await make_group(http, g, [alice, bob], kind="Meeting")
        expected = [0]
        assert expected == await ingest(http, grp("m1", bob, g, 1))

    async def test_unknown_group_is_404_and_counts_nothing(self, http: httpx.AsyncClient, users: Any) -> None:
        """A batch naming an unknown group is refused whole: its C2C message is not counted either."""
        alice, bob, g = users("alice", "bob", "g")
        batch = {"messages": [c2c("m1", bob, alice), grp("m2", bob, g, 1)]}
        response = await http.post("/v1/messages", json=batch, headers=SERVICE)
        expected = ((404, "not_found"), 0)
        assert expected == (error(response), await unread(http, alice))

    async def test_a_full_batch_is_accepted(self, http: httpx.AsyncClient, users: Any) -> None:
        """1000 messages are one valid batch."""
        alice, bob = users("alice", "bob")
        counted = await ingest(http, *(c2c(f"m{i}", bob, alice, i + 1) for i in range(1000)))
        expected = (1000, 1000)
        assert expected == (sum(counted), await unread(http, alice))

    @pytest.mark.parametrize("size", [0, 1001])
    async def test_batch_size_outside_1_to_1000_is_invalid(self, http: httpx.AsyncClient, size: int) -> None:
        """An empty batch and a batch over 1000 messages are 400."""
        batch = {"messages": [c2c(f"m{i}", "bob", "alice") for i in range(size)]}
        response = await http.post("/v1/messages", json=batch, headers=SERVICE)
        expected = ((400, "invalid_argument"), True)
        assert expected == (error(response), "1-1000" in response.text)

    @pytest.mark.parametrize(
        ("message", "field"),
        [
            ({"from": "bob", "to": "alice", "timestamp": 1}, "messages[0].id"),
            ({"id": "m", "from": "b ob", "to": "alice", "timestamp": 1}, "messages[0].from"),
            ({"id": "m", "from": "bob", "to": "alice/x", "timestamp": 1}, "messages[0].to"),
            ({"id": "m", "from": "bob", "to": "alice"}, "messages[0].timestamp"),
            ({"id": "m", "from": "bob", "to": "alice", "timestamp": "1"}, "messages[0].timestamp"),
            ({"id": "m", "from": "bob", "to": "alice", "timestamp": -1}, "messages[0].timestamp"),
            ({"id": "m", "from": "bob", "to": "alice", "timestamp": 1.5}, "messages[0].timestamp"),
            ({"id": "m", "from": "bob", "to": "alice", "timestamp": 1, "excluded": "no"}, "messages[0].excluded"),
            ({"id": "m", "from": "bob", "timestamp": 1}, "exactly one of"),
            ({"id": "m", "from": "bob", "to": "alice", "group": "g", "seq": 1}, "exactly one of"),
            ({"id": "m", "from": "bob", "group": "g", "seq": 0}, "messages[0].seq"),
            ({"id": "m", "from": "bob", "group": "g", "seq": 2**53}, "messages[0].seq"),
            ({"id": "m", "from": "bob", "group": "g", "seq": 1, "at": "alice"}, "messages[0].at"),
            ({"id": "m", "from": "bob", "group": "g", "seq": 1, "at": [1]}, "messages[0].at[0]"),
            ({"id": "m", "from": "bob", "group": "g", "seq": 1, "at_all": 1}, "messages[0].at_all"),
            ({"id": "m", "from": "bob", "group": "g", "seq": 1, "recipients": ["u"] * 10_001}, "recipients"),
            ({"id": "x" * 129, "from": "bob", "to": "alice", "timestamp": 1}, "messages[0].id"),
            ("m1", "messages[0]"),
        ],
    )
    async def test_bad_message_is_invalid_and_named(self, http: httpx.AsyncClient, message: Any, field: str) -> None:
        """Each malformed message is 400 and the message names the field."""
        response = await http.post("/v1/messages", json={"messages": [message]}, headers=SERVICE)
        expected = ((400, "invalid_argument"), True)
        assert expected == (error(response), field in response.json()["error"]["message"])

    async def test_bad_message_late_in_batch_counts_nothing(self, http: httpx.AsyncClient, users: Any) -> None:
        """One bad message refuses the whole batch before any change."""
        alice, bob = users("alice", "bob")
        batch = {"messages": [c2c("m1", bob, alice), c2c("m2", bob, alice, -5)]}
        response = await http.post("/v1/messages", json=batch, headers=SERVICE)
        expected = ((400, "invalid_argument"), 0)
        assert expected == (error(response), await unread(http, alice))


class TestRecalls:
    async def test_recall_removes_unread_message(self, http: httpx.AsyncClient, users: Any) -> None:
        """Recalling an unread C2C message takes it out of the recipient's total."""
        alice, bob = users("alice", "bob")
        await ingest(http, c2c("m1", bob, alice), c2c("m2", bob, alice, 101))
        reply = await ok(http, "POST", "/v1/messages/recall", {"messages": [{"id": "m1", "from": bob, "to": alice}]})
        expected = ({"results": [{"id": "m1", "recalled": 1}]}, 1)
        assert expected == (reply, await unread(http, alice))

    async def test_group_recall_reaches_every_recipient(self, http: httpx.AsyncClient, users: Any) -> None:
        """A group recall removes the message for every member who still had it unread."""
        alice, bob, carol, g = users("alice", "bob", "carol", "g")
        await make_group(http, g, [alice, bob, carol])
        await ingest(http, grp("m1", bob, g, 1))
        reply = await ok(http, "POST", "/v1/messages/recall", {"messages": [{"id": "m1", "group": g}]})
        expected = ([{"id": "m1", "recalled": 2}], 0)
        assert expected == (reply["results"], await unread(http, alice))

    async def test_recalled_message_never_counts_later(self, http: httpx.AsyncClient, users: Any) -> None:
        """A message delivered after its recall does not count."""
        alice, bob = users("alice", "bob")
        await ok(http, "POST", "/v1/messages/recall", {"messages": [{"id": "m1", "from": bob, "to": alice}]})
        expected = [0]
        assert expected == await ingest(http, c2c("m1", bob, alice))

    async def test_recall_in_unknown_group_is_404(self, http: httpx.AsyncClient, users: Any) -> None:
        """Recalling in a group that does not exist is 404."""
        (g,) = users("g")
        response = await http.post("/v1/messages/recall", json={"messages": [{"id": "m", "group": g}]}, headers=SERVICE)
        expected = (404, "not_found")
        assert expected == error(response)

    @pytest.mark.parametrize(
        "body",
        [
            {"messages": []},
            {"messages": [{"id": "m"}]},
            {"messages": [{"id": "m", "to": "alice"}]},
            {"messages": [{"group": "g"}]},
            {"messages": [{"id": "m", "group": "g/1"}]},
            {"messages": [{"id": "m", "group": "g"}] * 1001},
            {"recalls": [{"id": "m", "group": "g"}]},
        ],
    )
    async def test_bad_recall_is_invalid(self, http: httpx.AsyncClient, body: Any) -> None:
        """Malformed recalls are 400."""
        response = await http.post("/v1/messages/recall", json=body, headers=SERVICE)
        expected = (400, "invalid_argument")
        assert expected == error(response)


class TestGroupChats:
    async def test_put_creates_and_confirms(self, http: httpx.AsyncClient, users: Any) -> None:
        """PUT creates the group, and a repeat with the same type confirms it."""
        (g,) = users("g")
        first = await ok(http, "PUT", f"/v1/groups/{g}", {"type": "Public"})
        again = await ok(http, "PUT", f"/v1/groups/{g}", {"type": "Public"})
        expected = {"id": g, "type": "Public", "members": 0}
        assert (expected, expected) == (first, again)

    @pytest.mark.parametrize("kind", [[], {}, ["Work"], 1, None, "work"])
    async def test_a_type_that_is_not_one_of_the_names_is_invalid(
        self, http: httpx.AsyncClient, users: Any, kind: Any
    ) -> None:
        """A list or an object (not even hashable) is 400 like any unknown type, and no group appears."""
        (g,) = users("g")
        response = await http.put(f"/v1/groups/{g}", json={"type": kind}, headers=SERVICE)
        expected = ((400, "invalid_argument"), 404)
        assert expected == (error(response), (await http.get(f"/v1/groups/{g}", headers=SERVICE)).status_code)

    async def test_type_never_changes(self, http: httpx.AsyncClient, users: Any) -> None:
        """PUT with another type is 409 conflict."""
        (g,) = users("g")
        await ok(http, "PUT", f"/v1/groups/{g}", {"type": "Work"})
        response = await http.put(f"/v1/groups/{g}", json={"type": "Meeting"}, headers=SERVICE)
        expected = (409, "conflict")
        assert expected == error(response)

    async def test_get_reports_type_and_member_count(self, http: httpx.AsyncClient, users: Any) -> None:
        """GET returns id, type and the number of members."""
        alice, bob, g = users("alice", "bob", "g")
        await make_group(http, g, [alice, bob])
        assert {"id": g, "type": "Work", "members": 2} == await ok(http, "GET", f"/v1/groups/{g}")

    async def test_members_are_added_and_removed(self, http: httpx.AsyncClient, users: Any) -> None:
        """POST members applies add and remove and returns the group."""
        alice, bob, carol, g = users("alice", "bob", "carol", "g")
        await make_group(http, g, [alice, bob])
        reply = await ok(http, "POST", f"/v1/groups/{g}/members", {"add": [carol], "remove": [alice, bob]})
        assert {"id": g, "type": "Work", "members": 1} == reply

    async def test_delete_forgets_the_group(self, http: httpx.AsyncClient, users: Any) -> None:
        """DELETE answers 204, then the group is 404 (and a second DELETE too)."""
        (g,) = users("g")
        await ok(http, "PUT", f"/v1/groups/{g}", {"type": "Work"})
        deleted = await http.delete(f"/v1/groups/{g}", headers=SERVICE)
        after = await http.get(f"/v1/groups/{g}", headers=SERVICE)
        again = await http.delete(f"/v1/groups/{g}", headers=SERVICE)
        expected = (204, (404, "not_found"), (404, "not_found"))
        assert expected == (deleted.status_code, error(after), error(again))

    @pytest.mark.parametrize(("method", "suffix"), [("GET", ""), ("DELETE", ""), ("POST", "/members")])
    async def test_unknown_group_is_404(self, http: httpx.AsyncClient, users: Any, method: str, suffix: str) -> None:
        """Reading, deleting or editing a group that does not exist is 404."""
        (g,) = users("g")
        body = {"add": ["alice"]} if method == "POST" else None
        response = await http.request(method, f"/v1/groups/{g}{suffix}", json=body, headers=SERVICE)
        expected = (404, "not_found")
        assert expected == error(response)

    @pytest.mark.parametrize(
        ("method", "path", "body"),
        [
            ("PUT", "/v1/groups/g1", {"type": "Private"}),
            ("PUT", "/v1/groups/g1", {"kind": "Work"}),
            ("PUT", "/v1/groups/g%201", {"type": "Work"}),
            ("GET", "/v1/groups/" + "g" * 65, None),
            ("POST", "/v1/groups/g1/members", {"add": "alice"}),
            ("POST", "/v1/groups/g1/members", {"remove": ["a b"]}),
            ("POST", "/v1/groups/g1/members", {"add": [f"u{i}" for i in range(10_001)]}),
        ],
    )
    async def test_bad_group_request_is_invalid(
        self, http: httpx.AsyncClient, method: str, path: str, body: Any
    ) -> None:
        """Unknown types, bad groupIDs and malformed member lists are 400."""
        response = await http.request(method, path, json=body, headers=SERVICE)
        expected = (400, "invalid_argument")
        assert expected == error(response)
