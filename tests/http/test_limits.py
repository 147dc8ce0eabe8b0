"""One Limits per gateway: HTTP, WebSocket and /openapi.json all enforce and state the running instance's values."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from support.gateway import SERVICE, LiveServer, base_config, c2c, error, ok
from support.ws import Raw, user_token
from websockets.asyncio.client import connect

from counters import Limits

pytestmark = pytest.mark.anyio

SMALL = Limits(
    messages_per_call=5,
    recalls_per_call=4,
    users_per_call=3,
    conversations_per_call=2,
    conversations_per_group=6,
    groups_per_user=3,
    filters_per_connection=2,
)


@pytest.fixture(scope="module")
def small(redis_url: str) -> Iterator[LiveServer]:
    """A gateway built with small limits."""
    with LiveServer(base_config(redis_url, limits=SMALL, ops_per_second=500)) as server:
        yield server


@pytest.fixture
async def http(small: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    """A service-key client of the small gateway."""
    async with httpx.AsyncClient(base_url=small.url, headers=SERVICE) as client:
        yield client


def convs(count: int) -> list[str]:
    """Distinct conversation IDs."""
    return [f"c2c_peer{i}" for i in range(count)]


class TestHttp:
    @pytest.mark.parametrize(
        ("path", "body", "message"),
        [
            ("/v1/messages", {"messages": [c2c(f"m{i}", "bob", "alice") for i in range(6)]}, "messages must hold 1-5"),
            ("/v1/messages/recall", {"messages": [{"id": f"m{i}", "group": "g"} for i in range(5)]}, "1-4 items"),
            ("/v1/users/alice/recv-opt", {"conversations": convs(3), "recv_opt": 1}, "at most 2 items"),
            ("/v1/users/alice/marks", {"conversations": convs(3), "mark": 1, "enable": True}, "at most 2 items"),
            ("/v1/users/alice/conversation-groups", {"name": "w", "conversations": convs(7)}, "at most 6 items"),
            ("/v1/groups/g/members", {"add": ["a", "b", "c", "d"]}, "add must hold at most 3 items"),
        ],
    )
    async def test_sizes_are_the_running_ones(
        self, http: httpx.AsyncClient, path: str, body: dict[str, Any], message: str
    ) -> None:
        """One item past the gateway's own limit is 400, naming the field and the limit."""
        response = await http.post(path, json=body)
        expected = ((400, "invalid_argument"), True)
        assert expected == (error(response), message in response.json()["error"]["message"]), response.text

    async def test_at_the_limit_is_accepted(self, http: httpx.AsyncClient, new_id: Any) -> None:
        """Exactly the limit passes (and reaches the counting core, which has the same Limits)."""
        user = new_id("alice")
        reply = await ok(http, "POST", f"/v1/users/{user}/recv-opt", {"conversations": convs(2), "recv_opt": 1})
        assert 0 < reply["ver"]

    async def test_conversation_groups_per_user(self, http: httpx.AsyncClient, new_id: Any) -> None:
        """The 4th conversation group is 429 when the gateway allows 3."""
        user = new_id("alice")
        for name in ("a", "b", "c"):
            await ok(http, "POST", f"/v1/users/{user}/conversation-groups", {"name": name})
        response = await http.post(f"/v1/users/{user}/conversation-groups", json={"name": "d"})
        expected = (429, "resource_exhausted")
        assert expected == error(response)


class TestOpenAPI:
    async def test_document_states_the_running_sizes(self, http: httpx.AsyncClient) -> None:
        """The schemas carry the gateway's own limits, not the defaults."""
        schemas = (await http.get("/openapi.json")).json()["components"]["schemas"]
        messages = schemas["Messages"]["properties"]["messages"]
        sizes = (
            (messages["minItems"], messages["maxItems"]),
            schemas["RecvOpt"]["properties"]["conversations"]["maxItems"],
            schemas["Rename"]["properties"]["new_name"]["maxLength"],
            schemas["ConversationGroups"]["properties"]["groups"]["maxItems"],
            schemas["MemberEdit"]["properties"]["add"]["anyOf"][0]["maxItems"],
        )
        expected = ((1, 5), 2, 32, 3, 3)
        assert expected == sizes


class TestWebSocket:
    async def test_filters_per_connection(self, small: LiveServer) -> None:
        """The 3rd filter subscription is refused when the gateway allows 2."""
        async with connect(f"{small.ws_url}/v1/ws?token={user_token('alice')}") as ws:
            conn = Raw(ws)
            await conn.until(lambda f: f.get("type") == "welcome")
            replies = [await conn.request("subscribe_filter", i, filter={"type": i}) for i in range(3)]
        expected = [True, True, False]
        assert (expected, "resource_exhausted") == ([r["ok"] for r in replies], replies[2]["error"]["code"])

    async def test_ops_read_the_running_sizes(self, small: LiveServer) -> None:
        """WebSocket ops validate with the same limits as HTTP."""
        async with connect(f"{small.ws_url}/v1/ws?token={user_token('alice')}") as ws:
            conn = Raw(ws)
            await conn.until(lambda f: f.get("type") == "welcome")
            reply = await conn.request("set_recv_opt", conversations=convs(3), recv_opt=1)
        expected = (False, "conversations must hold at most 2 items")
        assert expected == (reply["ok"], reply["error"]["message"])


class TestWireRules:
    @pytest.mark.parametrize(
        ("body", "status"),
        [
            ({"messages": [c2c("m1", "bob", "alice", timestamp=5.0)]}, 200),  # JSON Schema's integer: 5.0 is 5
            ({"messages": [c2c("m1", "bob", "alice", timestamp=5.5)]}, 400),
            ({"messages": [c2c("m1", "bob", "alice", excluded=None)]}, 200),  # an optional field may be null
            ({"messages": [c2c("m1", "bob", "alice", group="g")]}, 400),  # exactly one of `to` and `group`
            ({"messages": [c2c("m1", "bob\n", "alice")]}, 400),  # `$` is the very end: no trailing newline
        ],
    )
    async def test_messages(self, http: httpx.AsyncClient, body: dict[str, Any], status: int) -> None:
        """The rules the OpenAPI document states are the ones the server applies."""
        response = await http.post("/v1/messages", json=body)
        assert status == response.status_code, response.text

    async def test_errors_name_the_field(self, http: httpx.AsyncClient) -> None:
        """A bad item is named by its path, with the rule it breaks."""
        body = {"messages": [c2c("m1", "bob", "alice"), {"id": "m2", "from": "b c", "to": "alice", "timestamp": 1}]}
        response = await http.post("/v1/messages", json=body)
        expected = "messages[1].from must be 1-64 characters of A-Z a-z 0-9 _ . @ # -"
        assert expected == response.json()["error"]["message"]
