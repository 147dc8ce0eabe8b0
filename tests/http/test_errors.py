"""Failures in the protocol's error shape; bad input changes nothing; Redis down is 503."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from support.gateway import MAX_BODY, SERVICE, c2c, error, grp, ingest, make_group, ok

from counters.store import Counters

pytestmark = pytest.mark.anyio  # see test_service_routes.py


class TestErrorShape:
    async def test_unknown_route_is_404(self, http: httpx.AsyncClient) -> None:
        """An unknown path is 404 in the error shape."""
        response = await http.get("/v1/nothing/here", headers=SERVICE)
        expected = (404, "not_found")
        assert expected == error(response)

    async def test_wrong_method_is_405_with_allow(self, http: httpx.AsyncClient) -> None:
        """A method the route lacks is 405 in the error shape, listing the allowed ones."""
        response = await http.patch("/v1/groups/g1", headers=SERVICE)
        assert ((405, "method_not_allowed"), {"DELETE", "GET", "HEAD", "PUT"}) == (
            error(response),
            set(response.headers["allow"].split(", ")),
        )

    @pytest.mark.parametrize(
        ("content", "what"),
        [(b"{not json", "not valid JSON"), (b"[1, 2]", "JSON object"), (b"", "JSON object body"), (b"\xff", "JSON")],
    )
    async def test_body_must_be_a_json_object(self, http: httpx.AsyncClient, content: bytes, what: str) -> None:
        """Malformed JSON, a non-object and an empty body are 400."""
        response = await http.post("/v1/messages", content=content, headers=SERVICE)
        expected = ((400, "invalid_argument"), True)
        assert expected == (error(response), what in response.json()["error"]["message"])

    async def test_declared_oversized_body_is_413(self, http: httpx.AsyncClient) -> None:
        """A Content-Length over the limit is 413 too_large."""
        response = await http.post("/v1/messages", content=b" " * (MAX_BODY + 1), headers=SERVICE)
        expected = (413, "too_large")
        assert expected == error(response)

    async def test_streamed_oversized_body_is_413(self, http: httpx.AsyncClient) -> None:
        """A chunked body (no Content-Length) is cut off at the limit: 413 too_large."""

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(5):
                yield b" " * (MAX_BODY // 4)

        response = await http.post("/v1/messages", content=chunks(), headers=SERVICE)
        expected = (413, "too_large")
        assert expected == error(response)

    async def test_body_at_the_limit_is_read(self, http: httpx.AsyncClient) -> None:
        """A body exactly at the limit is accepted (and parsed)."""
        body = b'{"messages": []}'
        response = await http.post("/v1/messages", content=body.ljust(MAX_BODY), headers=SERVICE)
        expected = (400, "invalid_argument")
        assert expected == error(response)

    @pytest.mark.parametrize(("key", "digits"), [("mark", 21), ("mark", 4301), ("type", 5000)])
    async def test_query_integers_past_20_digits_are_invalid(
        self, http: httpx.AsyncClient, key: str, digits: int
    ) -> None:
        """No valid filter value has more than 20 digits; 4,301 or more would make int() itself raise."""
        response = await http.get(f"/v1/users/alice/unread?{key}={'1' * digits}", headers=SERVICE)
        expected = (400, "invalid_argument")
        assert expected == error(response)

    async def test_segment_encoding_does_not_matter(self, http: httpx.AsyncClient) -> None:
        """Needlessly percent-encoded path characters route like the plain ones."""
        response = await http.get("/v1/%75sers/alice/unread", headers=SERVICE)
        expected = 200
        assert expected == response.status_code


BAD_REQUESTS: list[tuple[str, str, Any]] = [
    ("POST", "/v1/messages", {"messages": [c2c("m1", "{bob}", "{alice}"), c2c("m2", "{bob}", "{alice}", -1)]}),
    ("POST", "/v1/messages", {"messages": [c2c("m1", "{bob}", "{alice}"), grp("m2", "{bob}", "no-such-group", 1)]}),
    ("POST", "/v1/messages/recall", {"messages": [{"id": "c1", "from": "{bob}", "to": "{alice}"}, {"id": ""}]}),
    ("POST", "/v1/users/{alice}/clean", {"conversation": "c2c_{bob}", "timestamp": "all"}),
    ("POST", "/v1/users/{alice}/recv-opt", {"conversations": ["c2c_{bob}", "bad"], "recv_opt": 1}),
    ("POST", "/v1/users/{alice}/marks", {"conversations": ["c2c_{bob}"], "mark": 1 << 10, "enable": True}),
    ("POST", "/v1/users/{alice}/conversation-groups", {"name": "x", "conversations": ["c2c_{bob}", 5]}),
    ("POST", "/v1/users/{alice}/conversation-groups", {"name": "work"}),
    ("PATCH", "/v1/users/{alice}/conversation-groups/work", {"new_name": "w" * 40}),
    ("POST", "/v1/users/{alice}/conversation-groups/work/conversations", {"add": ["c2c_{bob}"], "remove": [None]}),
    ("POST", "/v1/users/{alice}/conversation-groups/nope/conversations", {"add": ["c2c_{bob}"]}),
    ("DELETE", "/v1/users/{alice}/conversation-groups/nope", None),
    ("POST", "/v1/groups/{g}/members", {"add": ["{alice}"], "remove": ["bad id"]}),
    ("PUT", "/v1/groups/{g}", {"type": "Meeting"}),
]


class TestBadInputChangesNothing:
    @pytest.mark.parametrize(("method", "path", "body"), BAD_REQUESTS)
    async def test_refused_request_leaves_state_alone(
        self, http: httpx.AsyncClient, counters: Counters, users: Any, method: str, path: str, body: Any
    ) -> None:
        """A refused request leaves the user's whole state and the group chat exactly as they were."""
        alice, bob, g = users("alice", "bob", "g")
        names = {"alice": alice, "bob": bob, "g": g}
        await make_group(http, g, [alice, bob])
        await ingest(http, c2c("c1", bob, alice), grp("g1", bob, g, 1))
        await ok(http, "POST", f"/v1/users/{alice}/conversation-groups", {"name": "work"})
        before = (await counters.snapshot(alice), await counters.get_group(g))
        filled = _fill(body, names)
        response = await http.request(method, path.format(**names), json=filled, headers=SERVICE)
        after = (await counters.snapshot(alice), await counters.get_group(g))
        assert (True, before) == (400 <= response.status_code < 500, after)


def _fill(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**names)
    if isinstance(value, list):
        return [_fill(item, names) for item in value]
    if isinstance(value, dict):
        return {key: _fill(item, names) for key, item in value.items()}
    return value


class TestRedisDown:
    @pytest.mark.parametrize(
        ("method", "path", "body"),
        [
            ("GET", "/v1/users/alice/unread", None),
            ("POST", "/v1/messages", {"messages": [c2c("m1", "bob", "alice")]}),
            ("POST", "/v1/users/alice/clean", {"conversation": ""}),
            ("GET", "/v1/groups/g1", None),
        ],
    )
    async def test_requests_are_503(self, down_http: httpx.AsyncClient, method: str, path: str, body: Any) -> None:
        """With Redis unreachable every Redis-backed route answers 503 unavailable."""
        response = await down_http.request(method, path, json=body, headers=SERVICE)
        expected = (503, "unavailable")
        assert expected == error(response)

    async def test_bad_input_is_still_400(self, down_http: httpx.AsyncClient) -> None:
        """Validation happens before Redis: bad input is 400 even while Redis is down."""
        response = await down_http.post("/v1/messages", json={"messages": []}, headers=SERVICE)
        expected = (400, "invalid_argument")
        assert expected == error(response)

    async def test_readyz_is_503(self, down_http: httpx.AsyncClient) -> None:
        """Readiness fails while Redis is unreachable; liveness does not."""
        ready, alive = await down_http.get("/readyz"), await down_http.get("/healthz")
        expected = ((503, "unavailable"), 200)
        assert expected == (error(ready), alive.status_code)
