"""Routing on percent-encoded paths, so a path parameter may hold any UTF-8, `/` included.

A conversation-group name may contain `/`. Routing on the decoded path would split such a name
into two segments, so the router sees a canonical encoded path instead (every segment decoded to
bytes, then encoded again) and path parameters are decoded only when an endpoint reads them.
"""

from __future__ import annotations

from urllib.parse import quote, unquote, unquote_to_bytes

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from counters import InvalidArgument

_UNRESERVED = "-._~"  # RFC 3986 characters that never need encoding; kept as they are for readability


def canonical_path(raw_path: bytes) -> str:
    """The path with each segment percent-encoded one canonical way (`/v1/%75sers` → `/v1/users`)."""
    segments = raw_path.decode("latin-1").split("/")
    return "/".join(quote(unquote_to_bytes(segment), safe=_UNRESERVED) for segment in segments)


class EncodedPathRouting:
    """Hands the router the canonical encoded path in place of the decoded one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            raw = scope.get("raw_path") or quote(scope["path"]).encode()
            # A copy: the server's own scope keeps the decoded path for its access log.
            scope = {**scope, "path": canonical_path(raw.partition(b"?")[0])}
        await self.app(scope, receive, send)


def path_param(request: Request, name: str) -> str:
    """A path parameter decoded from percent-encoded UTF-8."""
    try:
        return unquote(request.path_params[name], errors="strict")
    except UnicodeDecodeError:
        raise InvalidArgument(f"{name} in the path is not percent-encoded UTF-8") from None
