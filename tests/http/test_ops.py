"""Operations routes and the OpenAPI document."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from starlette.routing import Route
from support.gateway import SERVICE, LiveServer, c2c, ingest, ok

pytestmark = pytest.mark.anyio  # see test_service_routes.py


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text (0 when absent)."""
    selector = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    pattern = rf"^{re.escape(name)}(\{{{re.escape(selector)}\}})? (\S+)$" if selector else rf"^{name} (\S+)$"
    for line in text.splitlines():
        if found := re.match(pattern, line):
            return float(found.groups()[-1])
    return 0.0


class TestProbes:
    async def test_healthz(self, http: httpx.AsyncClient) -> None:
        """Liveness answers {"status": "ok"} without credentials."""
        response = await http.get("/healthz")
        expected = (200, {"status": "ok"})
        assert expected == (response.status_code, response.json())

    async def test_readyz_when_redis_is_up(self, http: httpx.AsyncClient) -> None:
        """Readiness answers 200 when Redis answers and holds the functions."""
        expected = 200
        assert expected == (await http.get("/readyz")).status_code

    async def test_readyz_reloads_a_flushed_library(self, http: httpx.AsyncClient, counters: Any) -> None:
        """After FUNCTION FLUSH (a Redis restarted empty), readiness loads the library again."""
        await counters.client.function_flush()
        response = await http.get("/readyz")
        expected = (200, True)
        assert expected == (response.status_code, await counters.library.loaded())


class TestMetrics:
    async def test_counts_requests_by_route_template(self, http: httpx.AsyncClient, users: Any) -> None:
        """Requests are counted under their route template, not the concrete path."""
        (alice,) = users("alice")
        labels = {"route": "/v1/users/{userID}/unread", "method": "GET", "status": "200"}
        before = metric((await http.get("/metrics")).text, "reddot_http_requests_total", **labels)
        await ok(http, "GET", f"/v1/users/{alice}/unread")
        after = metric((await http.get("/metrics")).text, "reddot_http_requests_total", **labels)
        expected = 1
        assert expected == after - before

    async def test_counts_ingest_and_recipient_updates(self, http: httpx.AsyncClient, users: Any) -> None:
        """Messages ingested and recipients counted show in the metrics."""
        alice, bob = users("alice", "bob")
        names = ("reddot_messages_ingested_total", "reddot_recipient_updates_total")
        text = (await http.get("/metrics")).text
        before = [metric(text, name) for name in names]
        await ingest(http, c2c("m1", bob, alice), c2c("m1", bob, alice))
        text = (await http.get("/metrics")).text
        expected = [2, 1]
        assert expected == [metric(text, name) - old for name, old in zip(names, before, strict=True)]

    async def test_exposes_every_gateway_metric(self, http: httpx.AsyncClient) -> None:
        """The exposition names every gateway metric, in Prometheus text format."""
        response = await http.get("/metrics")
        names = [
            "reddot_http_requests_total", "reddot_http_request_duration_seconds_bucket",
            "reddot_messages_ingested_total", "reddot_recipient_updates_total", "reddot_recalls_total",
            "reddot_cleans_total", "reddot_redis_errors_total", "process_cpu_seconds_total",
        ]  # fmt: skip
        missing = [
            name
            for name in names
            if f"# TYPE {name.removesuffix('_total').removesuffix('_bucket')}" not in response.text
        ]
        expected = ([], "text/plain")
        assert expected == (missing, response.headers["content-type"].split(";")[0])

    async def test_counts_redis_errors(self, down_http: httpx.AsyncClient) -> None:
        """A request failing on an unreachable Redis counts as a Redis error."""
        before = metric((await down_http.get("/metrics")).text, "reddot_redis_errors_total", type="ConnectionError")
        await down_http.get("/v1/users/alice/unread", headers=SERVICE)
        after = metric((await down_http.get("/metrics")).text, "reddot_redis_errors_total", type="ConnectionError")
        expected = 1
        assert expected == after - before


class TestOpenAPI:
    @pytest.mark.parametrize("which", ["gateway", "dev_gateway"])
    async def test_root_is_an_index_of_the_routes(self, request: pytest.FixtureRequest, which: str) -> None:
        """`GET /` (the banner's API link) lists every operation of /openapi.json with its summary."""
        server: LiveServer = request.getfixturevalue(which)
        async with httpx.AsyncClient(base_url=server.url) as client:
            index, document = (await client.get("/")).json(), (await client.get("/openapi.json")).json()
        documented = sorted((m.upper(), p) for p, ops in document["paths"].items() for m in ops)
        assert documented == sorted((r["method"], r["path"]) for r in index["routes"])
        assert ("POST", "/v1/messages") in {(r["method"], r["path"]) for r in index["routes"]}
        assert all(r["summary"] for r in index["routes"])

    @pytest.mark.parametrize("which", ["gateway", "dev_gateway"])
    async def test_documents_every_route(self, request: pytest.FixtureRequest, which: str) -> None:
        """Every route and method of the app appears in /openapi.json, with its responses."""
        server: LiveServer = request.getfixturevalue(which)
        async with httpx.AsyncClient(base_url=server.url) as client:
            document = (await client.get("/openapi.json")).json()
        app = server.server.config.app
        routes = {
            (route.path, method.lower())
            for route in app.routes
            if isinstance(route, Route)
            for method in route.methods or ()
            if method != "HEAD"
        }
        missing = [
            (path, method)
            for path, method in routes
            if "responses" not in document["paths"].get(path, {}).get(method, {})
        ]
        expected = ("3.1.0", [])
        assert expected == (document["openapi"], sorted(missing))

    async def test_declares_security_and_error_shape(self, http: httpx.AsyncClient) -> None:
        """The document declares both bearer schemes and the error object."""
        components = (await http.get("/openapi.json")).json()["components"]
        assert ({"serviceKey", "userToken"}, ["error"]) == (
            set(components["securitySchemes"]),
            components["schemas"]["Error"]["required"],
        )

    async def test_references_resolve(self, http: httpx.AsyncClient) -> None:
        """Every $ref in the document points at a defined component."""
        document = (await http.get("/openapi.json")).json()
        refs = set(re.findall(r'"\$ref": "#/components/(\w+)/(\w+)"', json.dumps(document)))
        dangling = [ref for ref in refs if ref[1] not in document["components"][ref[0]]]
        expected = ([], True)
        assert expected == (dangling, len(refs) > 20)
