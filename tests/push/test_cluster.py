"""Redis Cluster: counting and live push across three nodes, and a slot that moves mid-stream."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
from redis.crc import key_slot
from support.cluster import ValkeyCluster
from support.gateway import SERVICE, LiveServer, base_config
from support.ws import send_stream, user_token

from counters.connection import PackInC, connect
from counters.library import VERSION, Library
from gateway.client import Client

NewId = Callable[[str], str]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ValkeyCluster]:
    """Three primaries of the embedded Valkey, every slot assigned."""
    with ValkeyCluster(tmp_path_factory.mktemp("cluster")) as nodes:
        yield nodes


@pytest.fixture(scope="module")
def cluster_gateway(cluster: ValkeyCluster) -> Iterator[LiveServer]:
    """A gateway on the cluster (redis+cluster:// URL)."""
    with LiveServer(base_config(cluster.url)) as server:
        yield server


class TestCluster:
    async def test_every_node_packs_commands_in_c(self, cluster: ValkeyCluster) -> None:
        """The cluster client's connections, to every node, are the hiredis-packing ones, and they work."""
        client = connect(cluster.url)
        try:
            keys = [f"pack:{{{i}}}" for i in range(30)]  # hash tags spread over the three nodes
            for key in keys:
                await client.set(key, key)
            values = [await client.get(key) for key in keys]
            nodes = client.get_nodes()
            used = [conn for node in nodes for conn in node._connections]
        finally:
            await client.aclose()
        assert (keys, 3) == (values, len(nodes))
        assert all(issubclass(node.connection_class, PackInC) for node in nodes)
        assert used and all(isinstance(conn, PackInC) for conn in used)

    async def test_group_fan_out_and_pushes_across_nodes(self, cluster_gateway: LiveServer, new_id: NewId) -> None:
        """Users on every node get their group message counted and pushed."""
        users = [new_id("u") for _ in range(12)]
        gid = new_id("g")
        async with httpx.AsyncClient(base_url=cluster_gateway.url, headers=SERVICE) as http:
            await http.put(f"/v1/groups/{gid}", json={"type": "Work"})
            await http.post(f"/v1/groups/{gid}/members", json={"add": users})
            clients = [await Client(f"{cluster_gateway.ws_url}/v1/ws", user_token(u)).start() for u in users[1:]]
            try:
                for c in clients:
                    await c.get_total()
                body = {"messages": [{"id": "g1", "from": users[0], "group": gid, "seq": 1}]}
                assert [len(users) - 1] == [
                    r["counted"] for r in (await http.post("/v1/messages", json=body)).json()["results"]
                ]
                for c in clients:
                    await c.wait_until(lambda s: s.total == 1)
            finally:
                for c in clients:
                    await c.close()

    async def test_pubsub_reconnect_resubscribes_slot_by_slot(
        self, cluster: ValkeyCluster, cluster_gateway: LiveServer, new_id: NewId
    ) -> None:
        """Every node drops the gateway's pub/sub connections: 12 users on 3 nodes share nodes but not
        slots, and one SSUBSCRIBE may not span slots, so the resubscribe goes slot by slot; every user
        still gets the next change on the same socket."""
        users, bob = [new_id("u") for _ in range(12)], new_id("bob")
        async with httpx.AsyncClient(base_url=cluster_gateway.url, headers=SERVICE) as http:
            clients = [await Client(f"{cluster_gateway.ws_url}/v1/ws", user_token(u)).start() for u in users]
            try:
                for c in clients:
                    await c.get_total()
                for server in cluster.servers:
                    cluster.cli("-p", str(server.port), "client", "kill", "type", "pubsub")
                for u in users:
                    await send_stream(http, bob, u, 0, 1)
                for c in clients:
                    await c.wait_until(lambda s: s.total == 1, timeout=15)
                connects = {c.connects for c in clients}
            finally:
                for c in clients:
                    await c.close()
        assert {1} == connects

    async def test_the_library_counts_as_loaded_only_on_every_primary(self, cluster: ValkeyCluster) -> None:
        """Readiness: one primary without the library (a FUNCTION FLUSH there) is not loaded; a load fixes it."""
        client = connect(cluster.url)
        library = Library(client)
        try:
            await library.load()
            full = await library.loaded()
            cluster.cli("function", "flush")  # the first node only
            partial = await library.loaded()
            await library.load()
            again = (await library.loaded(), await library.server_version())
        finally:
            await client.aclose()
        assert (True, False, (True, VERSION)) == (full, partial, again)

    async def test_bulk_clean_in_pipelined_slices(self, cluster_gateway: LiveServer, new_id: NewId) -> None:
        """A user with 600 unread conversations cleans them all: every slice's call lands on the user's node."""
        alice = new_id("alice")
        messages = [{"id": f"m{i}", "from": f"s{i}-{alice}", "to": alice, "timestamp": 7} for i in range(600)]
        async with httpx.AsyncClient(base_url=cluster_gateway.url, headers=SERVICE) as http:
            await http.post("/v1/messages", json={"messages": messages})
            client = await Client(f"{cluster_gateway.ws_url}/v1/ws", user_token(alice)).start()
            try:
                await client.get_total()
                await client.wait_until(lambda s: s.total == 600)
                reply = (await http.post(f"/v1/users/{alice}/clean", json={"conversation": ""})).json()
                await client.wait_until(lambda s: s.total == 0)
                unread = (await http.get(f"/v1/users/{alice}/conversations")).json()["conversations"]
            finally:
                await client.close()
        assert (600, []) == (reply["cleaned"], unread)

    async def test_slot_move_mid_stream_converges_without_reconnect(
        self, cluster: ValkeyCluster, cluster_gateway: LiveServer, new_id: NewId
    ) -> None:
        """The user's slot moves to another node: the hub resubscribes there and the client stays exact."""
        alice, bob = new_id("alice"), new_id("bob")
        async with (
            httpx.AsyncClient(base_url=cluster_gateway.url, headers=SERVICE) as http,
            Client(f"{cluster_gateway.ws_url}/v1/ws", user_token(alice)) as client,
        ):
            await client.get_total()
            await send_stream(http, bob, alice, 0, 10)
            await client.wait_until(lambda c: c.total == 10)
            cluster.move_slot(key_slot(f"{{u:{alice}}}".encode()))
            for round_ in range(1, 4):
                await send_stream(http, bob, alice, round_ * 10, 10)
            await client.wait_until(lambda c: c.total == 40, timeout=15)
            assert 1 == client.connects
