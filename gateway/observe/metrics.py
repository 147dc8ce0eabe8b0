"""Prometheus metrics of the gateway, on one registry that every gateway module registers with."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REGISTRY = CollectorRegistry()
"""The gateway's registry: served at /metrics; WebSocket metrics register here too."""
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)

HTTP_REQUESTS = Counter(
    "reddot_http_requests", "HTTP requests by route template, method and status", ["route", "method", "status"],
    registry=REGISTRY,
)  # fmt: skip
HTTP_LATENCY = Histogram(
    "reddot_http_request_duration_seconds", "HTTP request latency by route template and method", ["route", "method"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
    registry=REGISTRY,
)  # fmt: skip
HTTP_REFUSED = Counter(
    "reddot_http_connections_refused", "TCP connections closed at once: the process was full", registry=REGISTRY
)
HTTP_HEADER_TIMEOUTS = Counter(
    "reddot_http_header_timeouts",
    "Connections closed for sending no complete request headers in time",
    registry=REGISTRY,
)
MESSAGES_INGESTED = Counter("reddot_messages_ingested", "Messages received for counting", registry=REGISTRY)
RECIPIENT_UPDATES = Counter(
    "reddot_recipient_updates", "Recipients whose unread grew (sum of `counted`)", registry=REGISTRY
)
RECALLS = Counter("reddot_recalls", "Message recalls received", registry=REGISTRY)
CLEANS = Counter("reddot_cleans", "Clean (mark-read) requests served", registry=REGISTRY)
REDIS_ERRORS = Counter("reddot_redis_errors", "Redis errors answered to a client, by type", ["type"], registry=REGISTRY)

# Unknown paths and methods share one label each, so scanners cannot blow up the label sets.
UNMATCHED = "<unmatched>"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class MetricsMiddleware:
    """Counts and times every HTTP request under its route template (`/v1/users/{userID}/unread`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # what the client gets if the app raises before starting a reply
        started = time.perf_counter()

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", UNMATCHED)
            method = scope["method"] if scope["method"] in METHODS else "OTHER"
            HTTP_REQUESTS.labels(template, method, str(status)).inc()
            HTTP_LATENCY.labels(template, method).observe(time.perf_counter() - started)
