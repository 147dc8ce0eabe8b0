"""One load run: start (or target) servers, connect clients, drive measured phases, check drift."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from gateway import paced_gc, quiet_gc
from loadtest.clients import ClientFleet, Seen
from loadtest.drive import MAX_IN_FLIGHT, pace
from loadtest.measure import Meter, Usage, usage
from loadtest.procs import Fleet

QUIET_SECONDS = 1.0  # no new frame for this long = delivery finished
DRAIN_DEADLINE = 15.0  # an overloaded server's backlog counts only this long after the traffic
MODULES = {"reddot": "gateway.cli", "socketio": "loadtest.peers.socketio_peer",
           "bare": "loadtest.peers.bare_forwarder"}  # fmt: skip
READY = {"reddot": "/readyz", "socketio": "/healthz", "bare": "/healthz"}


@dataclass
class Phase:
    """What one paced phase did and cost."""

    rate: float
    seconds: float  # from the first operation to the last frame
    operations: int
    frames: int
    usage: Usage
    seens: list[Seen] = field(default_factory=list, repr=False)

    @property
    def frames_per_second(self) -> float:
        """Frames received per second."""
        return self.frames / self.seconds if self.seconds else 0.0

    @property
    def frames_per_cpu_second(self) -> float:
        """Frames received per CPU second of the servers under test."""
        return self.frames / self.usage.server_cpu if self.usage.server_cpu else 0.0


class Run:
    """Servers and client processes of one system; closing stops everything this run started."""

    def __init__(self, system: str, workdir: Path, redis_url: str | None = None) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.system, self.fleet = system, Fleet(workdir)
        self.redis_url = redis_url or self.fleet.start_valkey()
        self.api_key, self.jwt_secret = secrets.token_urlsafe(24), secrets.token_urlsafe(32)
        self.urls: list[str] = []
        self.pids: list[int] = []
        self.measured: list[int] = []  # pids whose CPU and RSS a phase reports (default: every server)
        self.clients: ClientFleet | None = None

    def start_servers(self, count: int) -> None:
        """Start `count` server processes of this run's system."""
        for _ in range(count):
            args = ["--redis-url", self.redis_url]
            if self.system == "reddot":
                # name=value: a random key may start with "-", which argparse would take for an option
                args = ["serve", *args, f"--api-key={self.api_key}", f"--jwt-secret={self.jwt_secret}"]
            env = {"REDDOT_MAX_CONNECTIONS": "19000", "REDDOT_OPS_PER_SECOND": "1000"}
            server = self.fleet.start(self.system, MODULES[self.system], args, READY[self.system], env)
            self.urls.append(server.url)
            self.pids.append(server.pid)

    def target(self, urls: list[str], pids: list[int], api_key: str, jwt_secret: str) -> None:
        """Use gateways someone else started (CPU and RSS are measured only for the pids given)."""
        self.urls, self.pids, self.api_key, self.jwt_secret = urls, pids, api_key, jwt_secret

    def connect(
        self, users: list[tuple[str, str]], want_total: bool = True, urls: list[str] | None = None
    ) -> ClientFleet:
        """Open one WebSocket per (user, token), spread over client processes and servers (or `urls`)."""
        self.disconnect()
        ws_urls = ["ws" + url.removeprefix("http") for url in urls or self.urls]
        self.clients = ClientFleet(self.system, ws_urls, users, want_total)
        self.clients.wait_ready()
        return self.clients

    def disconnect(self) -> None:
        """Close every client connection (the processes end)."""
        if self.clients is not None:
            with contextlib.suppress(Exception):
                self.clients.close()
            self.clients = None

    def meter(self) -> Meter:
        """A meter of this run's server processes and Redis."""
        return Meter(self.measured or self.pids, self.redis_url)

    async def phase(
        self,
        rate: float,
        duration: float,
        emit: Callable[[int], Awaitable[None]],
        label: str = "",
        in_flight: int = MAX_IN_FLIGHT,
    ) -> Phase:
        """Drive `emit` at `rate` for `duration`, wait until delivery is quiet, collect what clients saw."""
        quiet_gc()  # a collection between stamping a change and sending it would count as server latency
        clients = self.clients
        meter = self.meter()
        frames0 = await asyncio.to_thread(clients.frames) if clients else 0
        start = meter.sample()

        def progress(elapsed: float, issued: int) -> None:
            line = f"\r  {label} {elapsed:5.1f}s  {issued / max(elapsed, 1e-9):8.0f} ops/s"
            print(line, end="", file=sys.stderr, flush=True)

        async with paced_gc():
            operations = await pace(rate, duration, emit, progress, in_flight)
        last, last_change = await asyncio.to_thread(self._drain, clients) if clients else (0, time.monotonic())
        end = meter.sample()
        meter.close()
        print("\r\033[K", end="", file=sys.stderr, flush=True)
        seens = await asyncio.to_thread(clients.report) if clients else []
        return Phase(rate, last_change - start.at, operations, last - frames0, usage(start, end), seens)

    @staticmethod
    def _drain(clients: ClientFleet) -> tuple[int, float]:
        """Wait until no frame arrived for QUIET_SECONDS; (frames, when the count last moved)."""
        frames, changed = clients.frames(), time.monotonic()
        deadline = changed + DRAIN_DEADLINE
        while time.monotonic() - changed < QUIET_SECONDS and time.monotonic() < deadline:
            time.sleep(0.2)
            now = clients.frames()
            if now != frames:
                frames, changed = now, time.monotonic()
        return frames, changed

    def close(self) -> None:
        """Stop the client processes, the servers and Valkey this run started."""
        self.disconnect()
        self.fleet.stop()
