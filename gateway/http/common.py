"""Plumbing every HTTP endpoint shares: typed app state, JSON in and out, auth wrappers, routes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, cast

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from counters import Counters, InvalidArgument, Limits
from gateway import auth
from gateway.config import Config
from gateway.errors import TooLarge
from gateway.http.paths import path_param

Endpoint = Callable[[Request], Awaitable[Response]]
UserEndpoint = Callable[[Request, str], Awaitable[Response]]


class ORJSONResponse(Response):
    """A JSON reply encoded by orjson (64-bit marks included)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        """The body bytes."""
        return orjson.dumps(content)


def reply(content: object, status: int = 200) -> Response:
    """A JSON reply."""
    return ORJSONResponse(content, status_code=status)


def no_content() -> Response:
    """204, for deletions."""
    return Response(status_code=204)


def counters_of(request: Request) -> Counters:
    """The Counters the lifespan created."""
    return cast(Counters, request.app.state.counters)


def config_of(request: Request) -> Config:
    """The app's Config."""
    return cast(Config, request.app.state.config)


def limits_of(request: Request) -> Limits:
    """The Limits this gateway runs with (its Counters holds the same)."""
    return config_of(request).limits


async def read_body(request: Request) -> bytes:
    """The body bytes (decoded by gateway.params); TooLarge past max_body_bytes (declared or streamed)."""
    limit = config_of(request).max_body_bytes
    too_large = TooLarge(f"the request body passes the limit of {limit} bytes")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:  # no or a false Content-Length: stop reading at the limit
                raise too_large
    except ClientDisconnect:
        raise InvalidArgument("the client went away before sending the whole body") from None
    if not body:
        raise InvalidArgument("this route needs a JSON object body")
    return bytes(body)


def service_endpoint(handler: Endpoint) -> Endpoint:
    """An endpoint only a service API key may call."""

    async def endpoint(request: Request) -> Response:
        auth.require_service(config_of(request), request)
        return await handler(request)

    endpoint.__doc__ = handler.__doc__
    return endpoint


def user_endpoint(handler: UserEndpoint) -> Endpoint:
    """An endpoint of /v1/users/{userID}: a service key, or that user's own token."""

    async def endpoint(request: Request) -> Response:
        user = path_param(request, "userID")
        auth.require_user(config_of(request), request, user)
        return await handler(request, user)

    endpoint.__doc__ = handler.__doc__
    return endpoint


def route(path: str, handlers: Mapping[str, Endpoint]) -> Route:
    """One route for a path, one endpoint per method (HEAD answered by GET), 405 for the others."""
    by_method = dict(handlers)
    if "GET" in by_method:
        by_method["HEAD"] = by_method["GET"]

    async def dispatch(request: Request) -> Response:
        return await by_method[request.method](request)

    return Route(path, dispatch, methods=list(handlers), name=path)
