"""Command line shared by the peer servers: `python -m … --redis-url URL --port P`."""

from __future__ import annotations

import argparse
from collections.abc import Callable

import uvicorn
from starlette.types import ASGIApp

from gateway import Config


def run(build: Callable[[str], ASGIApp], description: str) -> None:
    """Parse the flags and serve `build(redis_url)` with the gateway's uvicorn settings."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    # The same loop and WebSocket settings as `reddot serve` (its ping interval and timeout too; the
    # spread first ping is reddot's code, not a knob): the comparison is of the code, not the knobs.
    defaults = Config()
    uvicorn.run(build(args.redis_url), host="127.0.0.1", port=args.port, loop="uvloop",
                ws_per_message_deflate=False, ws_ping_interval=defaults.ping_interval_seconds,
                ws_ping_timeout=defaults.ping_timeout_seconds, log_level="warning")  # fmt: skip


def frame(uid: str, serial: int, sent: float) -> dict[str, object]:
    """A push as big as reddot's `conversations` frame, carrying its publish time."""
    conv = {"id": f"c2c_{uid}", "type": 1, "unread": serial, "mentions": 0, "recv_opt": 0, "marks": 0,
            "groups": [], "read_timestamp": 0, "read_sequence": 0}  # fmt: skip
    return {"type": "conversations", "ver": serial, "t": sent, "conversations": [conv]}
