"""Every private internal of a library that the gateway relies on, in one place.

Each is a measured speed-up or memory saving (the reasons sit where they are used). The upper bounds
in pyproject.toml keep an untested release out, and tests/test_compat.py fails loudly, naming the
internal, when a new release moves one: mend it here, not at the call sites.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from redis._parsers.hiredis import NOT_ENOUGH_DATA, _AsyncHiredisParser
from starlette.websockets import WebSocket
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

__all__ = ["H11_ATTRIBUTES", "H11Protocol", "SansIOProtocol", "asgi_send", "buffered_replies"]

SansIOProtocol = WebSocketsSansIOProtocol
"""uvicorn's websockets-sansio protocol: subclassed for spread pings, written to for batched frames."""

SANSIO_ATTRIBUTES = (
    "writable", "disconnected", "close_sent", "handshake_complete", "initial_response", "transport", "conn",
    "ping_interval", "ping_timer", "loop", "send_keepalive_ping", "start_keepalive", "request", "response",
)  # fmt: skip
"""What gateway/ws/transport reads or overrides on a live SansIOProtocol."""


# H11Protocol, uvicorn's h11 HTTP protocol, is subclassed to admit connections (gateway/http/admission.py).
H11_ATTRIBUTES = (
    "connection_made", "connection_lost", "handle_events", "on_response_complete", "connections", "cycle",
    "transport", "loop",
)  # fmt: skip
"""What gateway/http/admission.py overrides or reads on uvicorn's h11 protocol."""


def asgi_send(ws: WebSocket) -> Any:
    """The ASGI `send` under a Starlette WebSocket: its `__self__` is the uvicorn protocol of the socket."""
    return ws._send


def buffered_replies(conn: object) -> Callable[[], object]:
    """A function returning the next complete reply already buffered on a redis-py connection, or False.

    It is hiredis' `gets`; without hiredis it always answers False, and every reply goes through
    read_response.
    """
    parser = getattr(conn, "_parser", None)
    gets = getattr(getattr(parser, "_reader", None), "gets", None)
    if not isinstance(parser, _AsyncHiredisParser) or not callable(gets):
        return lambda: False

    def buffered() -> object:
        reply = gets()
        return False if reply is NOT_ENOUGH_DATA else reply  # redis-py's marker for "no complete reply"

    return buffered
