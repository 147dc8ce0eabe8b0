"""The Starlette app: an explicit route list and a lifespan that owns Redis and the counters."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager

from redis import exceptions as redis_errors
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute

from counters import Client, Counters, connect
from gateway.config import Config, ConfigError
from gateway.errors import EXCEPTION_HANDLERS
from gateway.http import dev_routes, openapi, ops_routes, service_routes, user_routes
from gateway.http.paths import EncodedPathRouting
from gateway.observe import fleet
from gateway.observe.metrics import MetricsMiddleware
from gateway.push.flusher import Flusher
from gateway.push.hub import Hub
from gateway.web import assets, dashboard, demo
from gateway.ws.endpoint import DirectWebSocket, Registry
from gateway.ws.token_expiry import Expiries

log = logging.getLogger("reddot")

Component = Callable[[Starlette], AbstractAsyncContextManager[object]]
"""Something the lifespan starts once the counters are ready and stops before Redis closes (e.g. a hub)."""


def http_routes(config: Config) -> list[BaseRoute]:
    """Every HTTP route of the gateway (the dev routes and the demo only in dev mode)."""
    dev = [*dev_routes.ROUTES, *demo.ROUTES] if config.dev else []
    return [
        *service_routes.ROUTES, *user_routes.ROUTES, *dev, *ops_routes.ROUTES,
        *dashboard.ROUTES, *openapi.ROUTES, *assets.ROUTES,
    ]  # fmt: skip


@asynccontextmanager
async def live_push(app: Starlette) -> AsyncIterator[None]:
    """The hub of this process, its flusher, token expiries and the connection registry of /v1/ws."""
    hub, flusher = Hub(app.state.redis, app.state.counters), Flusher()
    app.state.hub, app.state.flusher, app.state.expiries, app.state.ws_registry = hub, flusher, Expiries(), Registry()
    await hub.start()
    flusher.start()
    try:
        yield
    finally:
        await flusher.stop()
        await hub.stop()


def create_app(
    config: Config,
    *,
    redis: Client | None = None,
    routes: Sequence[BaseRoute] = (),
    components: Sequence[Component] = (),
) -> Starlette:
    """The gateway app: HTTP routes plus `routes`, and `components` started in order, stopped in reverse.

    `redis`, when given, is used instead of a client built from config.redis_url and stays the caller's to close.
    """

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            client = redis
            if client is None:
                if not config.redis_url:
                    raise ConfigError("no Redis URL: the CLI starts the embedded Valkey and sets it")
                client = connect(config.redis_url)
                stack.push_async_callback(client.aclose)
            counters = Counters(client, config.limits)  # the one Limits every layer reads
            app.state.redis, app.state.counters = client, counters
            await _load_library(counters)
            for component in (live_push, fleet.reporter, *components):
                await stack.enter_async_context(component(app))
            yield

    app = Starlette(
        routes=[*http_routes(config), *routes],
        # DirectWebSocket serves /v1/ws before the rest (ws_endpoint.py says why). EncodedPathRouting hands on
        # a copy of the scope: MetricsMiddleware, inside it, sees the matched route.
        middleware=[Middleware(DirectWebSocket), Middleware(EncodedPathRouting), Middleware(MetricsMiddleware)],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    app.state.config = config
    return app


async def _load_library(counters: Counters) -> None:
    # Starting while Redis is down is allowed: /readyz answers 503 (and loads the library once
    # Redis is back), requests answer 503, and nothing has to restart the process.
    try:
        await counters.start()
    except (redis_errors.ConnectionError, redis_errors.TimeoutError) as error:
        log.warning("Redis is unreachable at start (%s); /readyz reports 503 until it is back", error)
