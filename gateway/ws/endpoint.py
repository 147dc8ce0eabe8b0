"""`GET /v1/ws` admission: origin, token and connection caps, then the connection is served.

The endpoint is reached straight from the outermost middleware (`DirectWebSocket`): every
coroutine frame between uvicorn and the socket's wait lives as long as the connection, so the
router and the HTTP-only middlewares are left out of that chain, and headers and query are read
from the scope without caching them on a long-lived object.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from counters import ReddotError
from gateway.auth import verify_user_token
from gateway.observe import access_log
from gateway.observe import push_metrics as m
from gateway.ws.close_codes import FORBIDDEN, OVERLOADED, TOO_MANY, UNAUTHENTICATED
from gateway.ws.connection import Connection

PATH = "/v1/ws"


@dataclass
class Registry:
    """Connections of this process, per user, kept below the configured caps."""

    per_user: dict[str, int] = field(default_factory=dict)
    total: int = 0

    def admit(self, uid: str, max_total: int, max_per_user: int) -> int | None:
        """Count a new connection in, or return the close code that refuses it."""
        if self.total >= max_total:
            return OVERLOADED
        if self.per_user.get(uid, 0) >= max_per_user:
            return TOO_MANY
        self.per_user[uid] = self.per_user.get(uid, 0) + 1
        self.total += 1
        m.CONNECTIONS.set(self.total)
        return None

    def leave(self, uid: str) -> None:
        """Count a connection out."""
        self.per_user[uid] -= 1
        if not self.per_user[uid]:
            del self.per_user[uid]
        self.total -= 1
        m.CONNECTIONS.set(self.total)


class DirectWebSocket:
    """Middleware that hands `/v1/ws` upgrades to the endpoint at once; everything else goes on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope["path"] == PATH:
            await websocket_endpoint(WebSocket(scope, receive, send))
        else:
            await self.app(scope, receive, send)


async def websocket_endpoint(ws: WebSocket) -> None:
    """Authenticate, admit, then serve one connection."""
    config, registry = ws.app.state.config, ws.app.state.ws_registry
    refused = refusal_message = None
    if not origin_allowed(_header(ws, b"origin"), _header(ws, b"host"), config.allowed_origins):
        refused = FORBIDDEN  # closed straight after the accept: a foreign page never gets a data frame
    else:
        try:
            principal = verify_user_token(config, _query_token(ws) or _bearer(_header(ws, b"authorization")) or "")
        except ReddotError as error:
            refused, refusal_message = UNAUTHENTICATED, error.message[:120]
        else:
            refused = registry.admit(principal.user, config.max_connections, config.max_connections_per_user)
    if refused is not None:
        m.CLOSES.labels(str(refused)).inc()
        access_log.REFUSING.set(refused)  # this task's accept is logged as a refusal
        await ws.accept()  # refusals are close codes (docs/protocol.md §3), which need an open socket
        await ws.close(refused, refusal_message or "")
        return
    try:
        await ws.accept()
        await Connection(ws, principal.user, principal.exp).run()
    finally:
        registry.leave(principal.user)


def origin_allowed(origin: str | None, host: str | None, allowed: tuple[str, ...]) -> bool:
    """Browsers send Origin: accept same-origin, or a configured origin ('*' = any). No Origin: not a browser."""
    if origin is None or "*" in allowed or origin in allowed:
        return True
    return origin.split("://", 1)[-1] == host


def _header(ws: WebSocket, name: bytes) -> str | None:
    for key, value in ws.scope["headers"]:
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def _query_token(ws: WebSocket) -> str | None:
    for key, value in parse_qsl(ws.scope.get("query_string", b"").decode("latin-1")):
        if key == "token":
            return str(value)
    return None


def _bearer(header: str | None) -> str | None:
    if header and header.lower().startswith("bearer "):
        return header[7:].strip()
    return None
