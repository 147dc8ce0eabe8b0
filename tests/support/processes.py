"""`reddot serve` as a real child process: start it, wait until ready, stop it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import anyio
import httpx

REDDOT = Path(sys.executable).with_name("reddot")
DEADLINE = 20.0


def free_port() -> int:
    """A port free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env() -> dict[str, str]:
    """This environment without any REDDOT_* setting."""
    return {key: value for key, value in os.environ.items() if not key.startswith("REDDOT_")}


class Gateway:
    """A `reddot serve` child process with its output in files."""

    def __init__(self, tmp_path: Path, *args: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.out, self.err = tmp_path / "stdout", tmp_path / "stderr"
        with self.out.open("wb") as out, self.err.open("wb") as err:
            command = [str(REDDOT), "serve", "--port", str(self.port), *args]
            self.process = subprocess.Popen(command, stdout=out, stderr=err, env=clean_env())

    async def wait_ready(self) -> None:
        """Poll /readyz until 200, failing at the deadline or if the process dies."""
        deadline = time.monotonic() + DEADLINE
        async with httpx.AsyncClient(base_url=self.url) as client:
            while time.monotonic() < deadline and self.process.poll() is None:
                try:
                    if (await client.get("/readyz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await anyio.sleep(0.05)  # polling interval of a condition with a deadline
        raise AssertionError(f"not ready; exit {self.process.poll()}: {self.err.read_text()[-2000:]}")

    def terminate(self) -> int:
        """SIGTERM, then the exit code."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(DEADLINE)

    def kill(self) -> None:
        """Make sure the child is gone (after a failed test)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(DEADLINE)
