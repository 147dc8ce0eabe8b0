"""docs/design.md invariant 5: clients on two gateway processes converge to a fresh snapshot, whatever happens."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis
from support.gateway import JWT_SECRET, SERVICE, SERVICE_KEY
from support.processes import Gateway
from support.ws import user_token

from counters.store import Counters
from counters.types import Conversation
from gateway.client import Client, filter_key
from gateway.params import parse_filter

USERS = 3
FILTERS = ({"type": 1}, {"type": 2}, {"mark": 1}, {"group": "work"}, {"has_mention": True})
EXAMPLES = int(os.environ.get("REDDOT_CONVERGENCE_EXAMPLES", "30"))

user = st.integers(0, USERS - 1)
position = st.integers(1, 6)
op = st.one_of(
    st.tuples(st.just("c2c"), user, user, position),
    st.tuples(st.just("group"), user, position, st.sets(user, max_size=2), st.booleans()),
    st.tuples(st.just("recall"), user, user, position),
    st.tuples(st.just("clean"), user, st.sampled_from(["c2c", "group", "", "one"]), user, st.integers(0, 6)),
    st.tuples(st.just("recv_opt"), user, user, st.integers(0, 4)),
    st.tuples(st.just("mark"), user, user, st.sampled_from([1, 2, 1 << 33]), st.booleans()),
    st.tuples(st.just("cgroup"), user, user, st.booleans()),
)


@pytest.fixture(scope="module")
def gateways(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Gateway]]:
    """Two `reddot serve` processes on the session Redis."""
    procs = [
        Gateway(
            tmp_path_factory.mktemp(f"gw{i}"),
            "--redis-url",
            redis_url,
            "--api-key",
            SERVICE_KEY,
            "--jwt-secret",
            JWT_SECRET,
        )
        for i in range(2)
    ]
    yield procs
    for proc in procs:
        proc.kill()


@pytest.fixture(scope="module")
async def ready(gateways: list[Gateway]) -> AsyncIterator[list[Gateway]]:
    """The gateways once both answer /readyz."""
    for proc in gateways:
        await proc.wait_ready()
    yield gateways


class Scenario:
    """One example: three users, one group chat, clients spread over both gateways."""

    def __init__(self, gateways: list[Gateway], http: list[httpx.AsyncClient]) -> None:
        run = uuid.uuid4().hex[:8]
        self.users = [f"u{i}-{run}" for i in range(USERS)]
        self.group = f"g-{run}"
        self.gateways, self.http = gateways, http
        self.clients: list[tuple[str, Client, bool]] = []  # (user, client, asked for the total)
        self.turn = 0

    def conv(self, owner: int, other: int) -> str:
        return f"c2c_{self.users[other]}" if other != owner else f"group_{self.group}"

    def via(self) -> httpx.AsyncClient:
        """Alternate HTTP calls between the two gateways."""
        self.turn += 1
        return self.http[self.turn % 2]

    async def post(self, path: str, body: dict[str, Any], method: str = "POST") -> None:
        reply = await self.via().request(method, path, json=body)
        assert reply.status_code in (200, 204), reply.text

    async def apply(self, step: tuple[Any, ...]) -> None:
        kind, u = step[0], self.users[step[1]]
        if kind == "c2c":
            to = self.users[step[2]]
            await self.post(
                "/v1/messages", {"messages": [{"id": f"c{step[3]}", "from": u, "to": to, "timestamp": 100 + step[3]}]}
            )
        elif kind == "group":
            at = [self.users[i] for i in step[3]]
            await self.post(
                "/v1/messages",
                {
                    "messages": [
                        {
                            "id": f"g{step[2]}",
                            "from": u,
                            "group": self.group,
                            "seq": step[2],
                            "at": at,
                            "excluded": step[4],
                        }
                    ]
                },
            )
        elif kind == "recall":
            await self.post(
                "/v1/messages/recall", {"messages": [{"id": f"c{step[3]}", "from": u, "to": self.users[step[2]]}]}
            )
        elif kind == "clean":
            conv = self.conv(step[1], step[3]) if step[2] == "one" else step[2]
            await self.user_op(
                step[1],
                "clean",
                "/clean",
                {"conversation": conv, "timestamp": 100 + step[4] if step[4] else 0, "sequence": step[4]},
            )
        elif kind == "recv_opt":
            await self.user_op(
                step[1],
                "set_recv_opt",
                "/recv-opt",
                {"conversations": [self.conv(step[1], step[2])], "recv_opt": step[3]},
            )
        elif kind == "mark":
            await self.user_op(
                step[1],
                "mark",
                "/marks",
                {"conversations": [self.conv(step[1], step[2])], "mark": step[3], "enable": step[4]},
            )
        else:
            path = f"/v1/users/{u}/conversation-groups/work/conversations"
            await self.post(path, {"add" if step[3] else "remove": [self.conv(step[1], step[2])]})

    async def user_op(self, index: int, op: str, path: str, body: dict[str, Any]) -> None:
        """Half the time over the user's WebSocket, half over HTTP."""
        mine = [c for u, c, _ in self.clients if u == self.users[index]]
        self.turn += 1
        if mine and self.turn % 2:
            await mine[0].request(op, **body)
        else:
            await self.post(f"/v1/users/{self.users[index]}{path}", body)


async def converged(client: Client, store: Counters, uid: str, wants_total: bool) -> None:
    """Wait until the client's latest values equal a fresh snapshot."""
    state = await store.snapshot(uid)
    expected_convs = {cid: conv.as_dict() for cid, conv in state.conversations.items()}
    expected_filters = {filter_key(f): state.filter_total(parse_filter(f)) for f in FILTERS}

    def matches(c: Client) -> bool:
        ids = set(expected_convs) | set(c.conversations)
        convs_equal = all(
            c.conversations.get(i, Conversation(i).as_dict()) == expected_convs.get(i, Conversation(i).as_dict())
            for i in ids
        )
        return convs_equal and c.filters == expected_filters and (not wants_total or c.total == state.total)

    await client.wait_until(matches, timeout=10)


# uvicorn's keepalive pings draw from the global `random` in the server's thread while Hypothesis
# generates data in this one; Hypothesis reads that as a strategy using `random`. It is not.
@pytest.mark.filterwarnings("ignore:Do not use the `random` module inside strategies")
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(op, min_size=1, max_size=25))
async def test_clients_on_two_gateways_converge(ready: list[Gateway], redis: Redis, steps: list[Any]) -> None:
    """Random HTTP and WebSocket operations, then every client's values equal a fresh snapshot."""
    async with AsyncExitStack() as stack:
        http = [await stack.enter_async_context(httpx.AsyncClient(base_url=g.url, headers=SERVICE)) for g in ready]
        sc = Scenario(ready, http)
        await sc.post(f"/v1/groups/{sc.group}", {"type": "Work"}, method="PUT")
        await sc.post(f"/v1/groups/{sc.group}/members", {"add": sc.users})
        for u in sc.users:
            await sc.post(f"/v1/users/{u}/conversation-groups", {"name": "work", "conversations": []})
        for i, (index, wants_total) in enumerate([(0, True), (0, False), (1, True), (2, True)]):
            uid = sc.users[index]
            ws_url = "ws" + ready[i % 2].url.removeprefix("http") + "/v1/ws"
            client = await stack.enter_async_context(Client(ws_url, user_token(uid)))
            if wants_total:
                await client.get_total()
            for flt in FILTERS:
                await client.subscribe_filter(flt)
            sc.clients.append((uid, client, wants_total))
        for step in steps:
            await sc.apply(step)
        store = Counters(redis)
        for uid, client, wants_total in sc.clients:
            await converged(client, store, uid, wants_total)
