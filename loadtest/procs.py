"""Processes a load run starts and owns: an embedded Valkey and server processes, each stopped by its pid."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from counters import EmbeddedValkey

START_DEADLINE = 20.0  # seconds a server gets to answer its readiness URL
STOP_DEADLINE = 10.0


def free_port() -> int:
    """A TCP port nobody listens on right now (loopback)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """One server process we started: its pid, base URL and log file."""

    name: str
    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    @property
    def pid(self) -> int:
        """Process id."""
        return self.proc.pid

    def wait_ready(self, path: str) -> None:
        """Poll `path` until it answers 200; RuntimeError (with the log's tail) if it never does."""
        deadline = time.monotonic() + START_DEADLINE
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                with urllib.request.urlopen(self.url + path, timeout=1) as reply:
                    if reply.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
        raise RuntimeError(f"{self.name} did not start at {self.url}:\n{tail}")

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it lingers."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(STOP_DEADLINE)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(STOP_DEADLINE)


@dataclass
class Fleet:
    """Everything one run started, stopped together in reverse order."""

    workdir: Path
    valkey: EmbeddedValkey | None = None
    servers: list[Server] = field(default_factory=list)

    def start_valkey(self) -> str:
        """An embedded Valkey without persistence (a benchmark measures serving, not fsync)."""
        self.valkey = EmbeddedValkey(self.workdir / f"valkey-{os.getpid()}-{time.monotonic_ns()}")
        url = self.valkey.start()
        return url

    def start(self, name: str, module: str, args: list[str], ready: str, env: dict[str, str] | None = None) -> Server:
        """Run `python -m module args…` on a free port (`--port` is added) and wait until `ready` answers."""
        port = free_port()
        log = self.workdir / f"{name}-{port}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", module, *args, "--port", str(port)],
                stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
            )  # fmt: skip
        server = Server(name, proc, f"http://127.0.0.1:{port}", log)
        self.servers.append(server)
        server.wait_ready(ready)
        return server

    def stop(self) -> None:
        """Stop servers (last started first), then Valkey."""
        for server in reversed(self.servers):
            server.stop()
        self.servers.clear()
        if self.valkey is not None:
            self.valkey.stop()
            self.valkey = None
