"""WebSocket keepalive pings, spread out: uvicorn's sansio protocol with a random first ping.

uvicorn pings every connection `ws_ping_interval` seconds after it opened, and again each interval
after the pong. Connections that open together (a load test, or every app reconnecting after a
gateway restart) would then be pinged together forever: 10,000 of them cost the process about two
seconds of CPU per interval (104 ms per second measured at 10k idle connections with 20 s pings),
and those seconds, taken at once, stall every push behind them. The first ping here comes after a random
half to whole interval, so such a crowd's pings spread over half the interval and stay spread.
"""

from __future__ import annotations

import random

from gateway.compat import SansIOProtocol

_jitter = random.Random()  # private: the global generator belongs to the application


class SpreadPings(SansIOProtocol):
    """uvicorn's websockets-sansio protocol, its first keepalive ping after a random 0.5-1 interval."""

    def start_keepalive(self) -> None:
        """Schedule the first ping (the later ones follow each pong, one interval apart, as in uvicorn)."""
        if self.ping_interval is not None and self.ping_interval > 0:
            delay = self.ping_interval * (0.5 + 0.5 * _jitter.random())
            self.ping_timer = self.loop.call_later(delay, self.send_keepalive_ping)
