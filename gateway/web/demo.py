"""The demo app (dev mode only): its page, and the service key it needs to play the IM backend."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import FileResponse, Response

from gateway.http.common import config_of, reply, route
from gateway.web.assets import STATIC_DIR


async def page(request: Request) -> Response:
    """The demo page (plain HTML, CSS and JS on top of /static/reddot.js)."""
    return FileResponse(STATIC_DIR / "demo" / "index.html", headers={"cache-control": "no-cache"})


async def service_key(request: Request) -> Response:
    """The service key, for the demo's "send as someone else" panel: registered in dev mode only."""
    return reply({"key": config_of(request).api_keys[0]})


ROUTES = [route("/demo", {"GET": page}), route("/v1/dev/service-key", {"GET": service_key})]
