"""The WebSocket protocol `reddot serve` runs: uvicorn's sansio one, pings spread, the handshake let go."""

from __future__ import annotations

from gateway.ws.transport.keepalive import SpreadPings


class GatewayProtocol(SpreadPings):
    """SpreadPings that drops the handshake's request and response once the connection is open.

    uvicorn keeps both for the connection's lifetime, though nothing reads them after the accept:
    with their headers that is 9 of the 91 objects the garbage collector tracks per idle connection,
    and every collection of the older generations walks them all (at 10,000 connections such a
    collection paused the gateway for 200-400 ms).
    """

    def start_keepalive(self) -> None:
        """Called once the accept is written: from here on only frames go back and forth."""
        for name in ("request", "response"):  # pop, not del: a second call must not raise
            vars(self).pop(name, None)
        super().start_keepalive()
