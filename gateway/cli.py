"""The `reddot` command: `reddot serve` runs a gateway (and the embedded Valkey by default); `reddot load` tests it."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import functools
import json
import os
import signal
import socket
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from counters import EmbeddedValkey
from counters.connection import reachable, redacted
from counters.data_dir import PASSWORD_FILE, DataDirInUse
from counters.embedded import ServerStartError
from gateway.app import Component, create_app
from gateway.config import Config, ConfigError, add_arguments
from gateway.gc_tuning import paced_gc, quiet_gc
from gateway.http import admission
from gateway.observe import access_log
from gateway.ws.close_codes import MAX_FRAME
from gateway.ws.transport.protocol import GatewayProtocol

EXIT_CONFIG = 2  # as argparse does for a bad command line
EXIT_STARTUP = 3  # as uvicorn does when the app cannot start
# At start, a Redis given by URL must answer within this; later outages are ridden out with 503s.
REDIS_WAIT_SECONDS = 5.0
DEV_CREDENTIALS = "dev-credentials.json"  # in the data directory, written in dev mode for `reddot load`
# Connections admitted beyond the WebSocket cap, for HTTP: 18,000 + 1,000 stays under the 20,000 descriptors.
HTTP_HEADROOM = 1000
GRACEFUL_SHUTDOWN_SECONDS = 10  # open connections get this long to finish before they are closed


def build_parser() -> argparse.ArgumentParser:
    """`reddot serve [flags]`: every flag documents its environment variable and default."""
    parser = argparse.ArgumentParser(prog="reddot", description="Real-time unread-count gateway.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser(
        "serve",
        help="run a gateway",
        description="Run a gateway. Flags win over REDDOT_* environment variables, which win over defaults.",
    )
    add_arguments(serve)
    # Listed for --help only: main() hands `reddot load …` to the load tool before this parser runs.
    commands.add_parser("load", help="drive gateways with WebSocket clients and HTTP traffic, then check for drift")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["load"]:
        return run_load_tool(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        config = Config.from_namespace(args)
    except ConfigError as error:
        print(f"reddot serve: error: {error}", file=sys.stderr)
        return EXIT_CONFIG
    return serve(config, generated_secrets(args) if config.dev else ())


def generated_secrets(args: argparse.Namespace) -> list[str]:
    """Which secrets dev mode generated because neither a flag nor the environment gave them."""
    given = {
        "service key": args.api_keys or os.environ.get("REDDOT_API_KEYS"),
        "token secret": args.jwt_secret or args.jwt_public_key or os.environ.get("REDDOT_JWT_SECRET")
        or os.environ.get("REDDOT_JWT_PUBLIC_KEY"),
    }  # fmt: skip
    return [name for name, value in given.items() if not value]


def run_load_tool(argv: list[str]) -> int:
    """`reddot load`: imported only here, so a serving gateway never loads the load tool or its dependencies."""
    try:
        from loadtest.cli import main as load_main
    except ImportError as error:
        print(
            f"reddot load: the load tool is not installed ({error}); it ships with the source checkout: "
            "pip install -e . --group load",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    return load_main(argv)


def serve(config: Config, generated: Sequence[str] = ()) -> int:
    """Run until SIGINT or SIGTERM; the embedded Valkey (if any) stops with the process."""
    _exit_on(signal.SIGINT, signal.SIGTERM)
    valkey: EmbeddedValkey | None = None
    components: list[Component] = [paced_gc]
    try:
        if config.redis_url is None:
            # Here, in the one CLI process, never in code that runs once per worker (docs/internals.md).
            valkey = EmbeddedValkey(config.data_dir)
            try:
                config = dataclasses.replace(config, redis_url=valkey.start())
            except (DataDirInUse, ServerStartError) as error:
                print(f"reddot serve: error: {error}", file=sys.stderr)
                return EXIT_STARTUP
            components.append(valkey.supervised)
            print(
                f"reddot: embedded Valkey on 127.0.0.1:{valkey.port} (pid {valkey.pid}; password in "
                f"{valkey.data_dir / PASSWORD_FILE}), data in {valkey.data_dir}",
                file=sys.stderr,
            )
        elif (problem := asyncio.run(reachable(config.redis_url, REDIS_WAIT_SECONDS))) is not None:
            print(
                f"reddot serve: error: cannot reach Redis at {redacted(config.redis_url)}: {problem}", file=sys.stderr
            )
            return EXIT_STARTUP
        on_started = functools.partial(announce, config=config, generated=generated) if config.dev else None
        app = create_app(config, components=components)
        quiet_gc()
        server = AnnouncingServer(server_config(app, config), on_started)
        server.run()
        return 0 if server.started else EXIT_STARTUP
    finally:
        if valkey is not None:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the AOF flush short
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            valkey.stop()


def server_config(app: ASGIApp, config: Config, **overrides: Any) -> uvicorn.Config:
    """The uvicorn settings of a gateway process (tests override logging)."""
    options: dict[str, Any] = {
        "host": config.host,
        "port": config.port,
        "loop": "uvloop",
        "ws_per_message_deflate": False,  # halves memory per idle WebSocket (docs/internals.md)
        "ws_max_size": MAX_FRAME,  # docs/protocol.md §3: a bigger frame closes the socket with 1009
        "ws": GatewayProtocol,
        "http": admission.configured(config.max_connections + HTTP_HEADROOM),
        "ws_ping_interval": config.ping_interval_seconds or None,
        "ws_ping_timeout": config.ping_timeout_seconds,
        "lifespan": "on",
        "log_level": "info",
        "timeout_graceful_shutdown": GRACEFUL_SHUTDOWN_SECONDS,
    }
    access_log.install()  # the access log stays on, but without user tokens, and refusals said as such
    return uvicorn.Config(app, **(options | overrides))


class AnnouncingServer(uvicorn.Server):
    """A uvicorn server that calls back once it listens."""

    def __init__(self, config: uvicorn.Config, on_started: Callable[[AnnouncingServer], None] | None) -> None:
        super().__init__(config)
        self.on_started = on_started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """Start, then announce."""
        await super().startup(sockets)
        if self.started and self.on_started is not None:
            self.on_started(self)

    def base_url(self) -> str:
        """http://host:port of the first listening socket (the real port when 0 was asked)."""
        host, port = self.servers[0].sockets[0].getsockname()[:2]
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        return f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"


def announce(server: AnnouncingServer, config: Config, generated: Sequence[str]) -> None:
    """Print the dev-mode banner (where everything is, the service key) and keep the dev credentials."""
    base = server.base_url()
    credentials = write_dev_credentials(config, base)
    keys = f"generated {' and '.join(generated)}" if generated else "keys as given"
    lines = [
        "",
        f"reddot is running in dev mode ({keys}, open token minting: not for production)",
        f"  demo        {base}/demo",
        f"  dashboard   {base}/dashboard",
        f"  API         {base}/  (an index of the routes; OpenAPI at {base}/openapi.json)",
        f"  service key {config.api_keys[0]}",
        f"  try it      curl -H 'Authorization: Bearer {config.api_keys[0]}' {base}/v1/users/alice/unread",
        f'  user token  curl -X POST {base}/v1/dev/token -d \'{{"user": "alice"}}\'',
        f"  load test   reddot load --target {base}  (reads {credentials})",
        "",
    ]
    print("\n".join(lines), flush=True)


def write_dev_credentials(config: Config, base: str) -> Path:
    """`<data dir>/dev-credentials.json` (mode 0600): what `reddot load --target` needs to drive this gateway."""
    path = Path(config.data_dir) / DEV_CREDENTIALS
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.chmod(path, 0o600)
    entry = {"url": base, "api_key": config.api_keys[0], "jwt_secret": config.jwt_secret, "redis_url": config.redis_url}
    with os.fdopen(fd, "w") as file:
        json.dump(entry, file, indent=1)
    return path


def _exit_on(*signals: signal.Signals) -> None:
    # uvicorn handles these signals while it serves, then re-raises them once it has stopped.
    # Without this handler the re-raised SIGTERM would kill the process before Valkey is stopped.
    def leave(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)

    for sig in signals:
        signal.signal(sig, leave)


if __name__ == "__main__":
    sys.exit(main())
