"""Dev-mode routes: mint a user token without an identity provider (absent outside dev mode)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from gateway import auth, params
from gateway.http.common import config_of, limits_of, read_body, reply, route


async def post_dev_token(request: Request) -> Response:
    """A short-lived user token for any user: dev mode only, so it needs no credentials."""
    user = params.parse_dev_token(await read_body(request), limits_of(request))
    config = config_of(request)
    token = auth.mint_dev_token(config, user)
    return reply({"token": token, "user": user, "expires_in": config.dev_token_ttl})


ROUTES = [route("/v1/dev/token", {"POST": post_dev_token})]
