"""Operations routes: liveness, readiness, Prometheus metrics."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis import exceptions as redis_errors
from starlette.requests import Request
from starlette.responses import Response

from gateway.errors import error_response
from gateway.http.common import counters_of, reply, route
from gateway.observe.metrics import REGISTRY


async def healthz(request: Request) -> Response:
    """The process is alive."""
    return reply({"status": "ok"})


async def readyz(request: Request) -> Response:
    """Redis answers and holds the function library; 503 otherwise."""
    store = counters_of(request)
    try:
        await store.client.ping()
        if not await store.library.loaded():
            # A Redis that restarted without persistence, or came up after us: load it now
            # rather than stay unready until some write happens to reload it.
            await store.start()
    except redis_errors.RedisError as error:
        return error_response("unavailable", f"Redis is not ready: {error}")
    return reply({"status": "ready"})


async def metrics(request: Request) -> Response:
    """Prometheus text exposition of the gateway's registry."""
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


ROUTES = [
    route("/healthz", {"GET": healthz}),
    route("/readyz", {"GET": readyz}),
    route("/metrics", {"GET": metrics}),
]
