"""TCP connections the HTTP server admits: a cap on how many, and a deadline for each request's headers.

uvicorn keeps a connection that never sends a request forever, and counts none of them: 19,990 idle
sockets used up the 20,000 file descriptors and /healthz stopped answering (docs/internals.md).
Here a connection must complete a request's headers within HEADER_SECONDS of opening, or of its
last response (which also bounds an idle keep-alive and a slow drip of header bytes), and past
`max_connections` open connections a new one is closed at once, leaving descriptors for the rest.
"""

from __future__ import annotations

import asyncio
from typing import Any

from gateway.compat import H11Protocol
from gateway.observe import metrics as m

HEADER_SECONDS = 10.0


class AdmittingH11(H11Protocol):
    """uvicorn's h11 protocol with the admission rules above (`configured()` sets the cap)."""

    max_connections = 19_000
    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Admit the connection, or close it at once when the server is full."""
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            m.HTTP_REFUSED.inc()
            transport.abort()
            return
        self._expect_headers()

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the deadline with the connection."""
        self._cancel_header_timer()
        super().connection_lost(exc)

    def handle_events(self) -> None:
        """Once a request's headers are in (or the socket was handed to a WebSocket), the deadline is met."""
        super().handle_events()
        upgraded = self.transport.get_protocol() is not self
        if upgraded or (self.cycle is not None and not self.cycle.response_complete):
            # Cancelled, not left to find the upgrade when it fires: its handle would keep this
            # protocol object (a few KB) alive beside every new WebSocket for HEADER_SECONDS.
            self._cancel_header_timer()

    def on_response_complete(self) -> None:
        """The next request's headers are due within HEADER_SECONDS too."""
        super().on_response_complete()
        if not self.transport.is_closing() and self.transport.get_protocol() is self:
            self._expect_headers()

    def _expect_headers(self) -> None:
        self._cancel_header_timer()
        self._header_timer = self.loop.call_later(HEADER_SECONDS, self._headers_late)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_late(self) -> None:
        self._header_timer = None
        idle = self.cycle is None or self.cycle.response_complete
        # A WebSocket upgrade hands the transport to another protocol: never close it from here.
        if idle and self.transport.get_protocol() is self and not self.transport.is_closing():
            m.HTTP_HEADER_TIMEOUTS.inc()
            self.transport.close()


def configured(max_connections: int) -> type[AdmittingH11]:
    """The protocol class with this cap on open connections (HTTP and WebSocket together)."""
    attributes: dict[str, Any] = {"max_connections": max_connections}
    return type("AdmittingH11", (AdmittingH11,), attributes)
