"""Lost change events: a gap in `ver`, a lost pub/sub connection or a lost own-write event each end in a
snapshot reload, so the connected client still converges to a fresh snapshot (docs/design.md invariant 5).

Pub/sub is at-most-once; these tests lose events on purpose, end to end: a real Valkey, a real uvicorn
gateway (in this process, in its own thread) and real WebSocket clients. An event is lost by a `Tap`
placed between the gateway's pub/sub reader and its hub: the reader reads the event from the socket and
the tap drops it before the hub sees it, exactly what a lost message looks like to the hub.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import orjson
import pytest
from redis.asyncio import Redis
from support.gateway import SERVICE, LiveServer, base_config
from support.tap import FILTERS, Tap, converges
from support.ws import Raw, send_c2c, user_token
from websockets.asyncio.client import connect

from counters import keys
from counters.store import Counters
from gateway.client import Client

NewId = Callable[[str], str]


@pytest.fixture(scope="module")
def gateway(redis_url: str) -> Iterator[LiveServer]:
    """A gateway of this module alone: the tap changes its reader and hub while a test runs."""
    with LiveServer(base_config(redis_url, ops_per_second=500)) as server:
        yield server


@pytest.fixture
async def tap(gateway: LiveServer) -> AsyncIterator[Tap]:
    """The tap, removed after the test."""
    placed = Tap(gateway)
    try:
        yield placed
    finally:
        placed.remove()


@pytest.fixture
async def http(gateway: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    """The IM backend's HTTP client."""
    async with httpx.AsyncClient(base_url=gateway.url, headers=SERVICE) as client:
        yield client


@pytest.fixture
async def watch(gateway: LiveServer) -> AsyncIterator[Callable[[str], Any]]:
    """watch(user): a started gateway.client.Client that follows the total and FILTERS; closed after the test."""
    started: list[Client] = []

    async def make(uid: str) -> Client:
        client = await Client(f"{gateway.ws_url}/v1/ws", user_token(uid)).start()
        started.append(client)
        await client.get_total()
        for flt in FILTERS:
            await client.subscribe_filter(flt)
        return client

    yield make
    for client in started:
        await client.close()


class TestVerGap:
    async def test_event_after_a_lost_one_reloads_the_snapshot(
        self, tap: Tap, watch: Any, http: httpx.AsyncClient, counters: Counters, new_id: NewId
    ) -> None:
        """An event whose ver skips a lost one is not applied: the hub reloads, the client gets the lost change."""
        alice, bob, carol, dave = new_id("alice"), new_id("bob"), new_id("carol"), new_id("dave")
        client = await watch(alice)
        await send_c2c(http, bob, alice, "m1", 100)
        await client.wait_until(lambda c: c.total == 1)
        tap.drop(alice)
        await send_c2c(http, carol, alice, "m1", 100)  # its event is lost: only a reload can show it
        await tap.until("carol's event dropped", lambda: len(tap.events_of(alice, tap.dropped)) == 1)
        await send_c2c(http, dave, alice, "m1", 100)  # the next event: ver jumps by two
        await converges(client, counters, alice)
        assert (1, 3, 1) == (client.conversations[f"c2c_{carol}"]["unread"], client.total, client.connects)

    async def test_changes_after_the_gap_reload_go_on_as_events(
        self, tap: Tap, watch: Any, http: httpx.AsyncClient, counters: Counters, new_id: NewId
    ) -> None:
        """After a gap reload the mirrored ver is the snapshot's: later events apply one by one again."""
        alice, bob, carol = new_id("alice"), new_id("bob"), new_id("carol")
        client = await watch(alice)
        tap.drop(alice)
        await send_c2c(http, bob, alice, "m1", 100)
        await tap.until("bob's event dropped", lambda: len(tap.events_of(alice, tap.dropped)) == 1)
        await send_c2c(http, carol, alice, "m1", 100)
        await converges(client, counters, alice)
        for i in range(2, 5):
            await send_c2c(http, bob, alice, f"m{i}", 100 + i)
        await http.post(f"/v1/users/{alice}/marks", json={"conversations": [f"c2c_{carol}"], "mark": 1, "enable": True})
        await converges(client, counters, alice)
        assert 5 == client.total


class TestStaleEvents:
    async def test_a_replayed_old_event_changes_and_pushes_nothing(
        self, gateway: LiveServer, tap: Tap, http: httpx.AsyncClient, redis: Redis, new_id: NewId
    ) -> None:
        """An event at or below the mirrored ver (a late duplicate) is ignored: no value goes back, no push."""
        alice, bob = new_id("alice"), new_id("bob")
        async with connect(f"{gateway.ws_url}/v1/ws?token={user_token(alice)}") as ws:
            conn = Raw(ws)
            await conn.until(lambda f: f.get("type") == "welcome")
            await conn.request("get_total")
            await send_c2c(http, bob, alice, "m1", 100)
            await conn.until(lambda f: f.get("type") == "total" and f["total"] == 1)
            await send_c2c(http, bob, alice, "m2", 101)
            await conn.until(lambda f: f.get("type") == "total" and f["total"] == 2)
            first = tap.events_of(alice, tap.passed)[0]
            read = len(conn.frames)
            await redis.spublish(keys.events(alice), first)
            await tap.until("the replay handled", lambda: len(tap.events_of(alice, tap.passed)) == 3)
            await conn.request("ping", rid="after-replay")  # anything the replay pushed is read by now
            late = [f for f in conn.frames[read:] if f.get("id") != "after-replay"]
            total = await conn.request("get_total", rid="total")
        assert ([], 2) == (late, total["total"])


class TestEventAheadOfRedis:
    async def test_an_event_the_snapshot_does_not_reach_costs_one_reload_not_a_loop(
        self, tap: Tap, watch: Any, http: httpx.AsyncClient, redis: Redis, counters: Counters, new_id: NewId
    ) -> None:
        """An event already held when the snapshot read began but newer than that snapshot (its write was
        lost in a failover, or another publisher sent it) is dropped: one reload, then events apply again."""
        alice, bob = new_id("alice"), new_id("bob")
        client = await watch(alice)
        await send_c2c(http, bob, alice, "m1", 100)
        await client.wait_until(lambda c: c.total == 1)
        ahead = orjson.loads(tap.events_of(alice, tap.passed)[-1])
        ahead["v"] += 5  # a ver Redis never reached
        reads = tap.snapshot_reads.get(alice, 0)
        await redis.spublish(keys.events(alice), orjson.dumps(ahead))
        await tap.until("the gap reload read", lambda: tap.snapshot_reads.get(alice, 0) > reads)
        await send_c2c(http, bob, alice, "m2", 101)  # the next real ver: applies as an event
        await converges(client, counters, alice)
        assert (2, 1) == (client.total, tap.snapshot_reads[alice] - reads)


class TestLostConnection:
    async def test_a_pubsub_reconnect_reloads_without_a_later_event(
        self, tap: Tap, watch: Any, http: httpx.AsyncClient, redis: Redis, counters: Counters, new_id: NewId
    ) -> None:
        """An event lost while the pub/sub connection dies: the resubscribe alone reloads the snapshot."""
        alice, bob = new_id("alice"), new_id("bob")
        client = await watch(alice)
        await send_c2c(http, bob, alice, "m1", 100)
        await client.wait_until(lambda c: c.total == 1)
        tap.drop(alice)
        await send_c2c(http, bob, alice, "m2", 101)
        await tap.until("the event dropped", lambda: len(tap.events_of(alice, tap.dropped)) == 1)
        before = tap.resubscribes
        await redis.client_kill_filter(_type="pubsub")
        await tap.until("the reader resubscribed", lambda: tap.resubscribes > before)
        await converges(client, counters, alice)
        assert (2, 1) == (client.total, client.connects)

    async def test_events_during_a_reload_are_applied_after_it(
        self, tap: Tap, watch: Any, http: httpx.AsyncClient, redis: Redis, counters: Counters, new_id: NewId
    ) -> None:
        """Events that arrive while the snapshot loads are held, then those newer than it are applied."""
        alice, bob, carol = new_id("alice"), new_id("bob"), new_id("carol")
        client = await watch(alice)
        await send_c2c(http, bob, alice, "m1", 100)
        await client.wait_until(lambda c: c.total == 1)
        tap.hold_next_snapshot(alice)
        await redis.client_kill_filter(_type="pubsub")  # the reconnect reloads alice
        await tap.until("alice's snapshot read and held", lambda: tap.held_snapshots == 1)
        passed = len(tap.events_of(alice, tap.passed))
        await send_c2c(http, carol, alice, "m1", 100)
        await send_c2c(http, bob, alice, "m2", 101)
        await tap.until("both events handed to the hub", lambda: len(tap.events_of(alice, tap.passed)) == passed + 2)
        tap.release()  # the snapshot returns without those two changes
        await converges(client, counters, alice)
        assert 3 == client.total

    async def test_a_reason_to_reload_during_a_reload_reads_the_snapshot_again(
        self, tap: Tap, watch: Any, http: httpx.AsyncClient, redis: Redis, counters: Counters, new_id: NewId
    ) -> None:
        """The connection dies again while a snapshot loads, losing an event: the hub reads the snapshot again."""
        alice, bob, carol = new_id("alice"), new_id("bob"), new_id("carol")
        client = await watch(alice)
        await send_c2c(http, bob, alice, "m1", 100)
        await client.wait_until(lambda c: c.total == 1)
        tap.hold_next_snapshot(alice)
        await redis.client_kill_filter(_type="pubsub")
        await tap.until("alice's snapshot read and held", lambda: tap.held_snapshots == 1)
        tap.drop(alice)
        await send_c2c(http, carol, alice, "m1", 100)  # lost: the held snapshot was read before it
        await tap.until("carol's event dropped", lambda: len(tap.events_of(alice, tap.dropped)) == 1)
        before = tap.resubscribes
        await redis.client_kill_filter(_type="pubsub")
        await tap.until("the reader resubscribed again", lambda: tap.resubscribes > before)
        tap.release()
        await converges(client, counters, alice)
        assert 2 == client.total


class TestAttach:
    async def test_a_change_before_the_subscription_is_confirmed_is_in_the_first_snapshot(
        self, gateway: LiveServer, tap: Tap, http: httpx.AsyncClient, counters: Counters, new_id: NewId
    ) -> None:
        """The first snapshot is read only once the channel is subscribed: a change whose event nobody
        heard (made before the SSUBSCRIBE reached Redis) is in it."""
        alice, bob = new_id("alice"), new_id("bob")
        tap.hold_next_subscribe(alice)
        client = Client(f"{gateway.ws_url}/v1/ws", user_token(alice))
        starting = asyncio.create_task(client.start())
        try:
            await tap.until("alice's SSUBSCRIBE held", lambda: tap.held_subscribes == 1)
            await send_c2c(http, bob, alice, "m1", 100)  # published to nobody
            tap.release()
            await starting
            await client.get_total()
            for flt in FILTERS:
                await client.subscribe_filter(flt)
            await converges(client, counters, alice)
            assert 1 == client.total
        finally:
            starting.cancel()  # a no-op once started
            await client.close()


class TestCoalescing:
    async def test_a_burst_of_events_pushes_every_value_it_changed(
        self, tap: Tap, watch: Any, http: httpx.AsyncClient, counters: Counters, new_id: NewId
    ) -> None:
        """Events applied back to back (one socket read) coalesce into one flush that still pushes every
        conversation and the total they changed, even when the last of them leaves the total as it was."""
        alice, bob, carol = new_id("alice"), new_id("bob"), new_id("carol")
        client = await watch(alice)
        tap.burst(alice, 3)
        await send_c2c(http, bob, alice, "m1", 100)
        await send_c2c(http, carol, alice, "m1", 100)
        marks = {"conversations": [f"c2c_{carol}"], "mark": 1, "enable": True}
        assert (await http.post(f"/v1/users/{alice}/marks", json=marks)).status_code == 200  # total unchanged
        await tap.until("the burst handed to the hub", lambda: len(tap.events_of(alice, tap.passed)) == 3)
        await converges(client, counters, alice)
        assert 2 == client.total

    async def test_a_change_of_nothing_counted_keeps_a_pending_filter_push(
        self, gateway: LiveServer, tap: Tap, http: httpx.AsyncClient, new_id: NewId
    ) -> None:
        """A change's filter push pending in the outbox survives a later change that moves no count and no
        conversation (an empty conversation group) before the flush."""
        alice, bob = new_id("alice"), new_id("bob")
        async with connect(f"{gateway.ws_url}/v1/ws?token={user_token(alice)}") as ws:
            conn = Raw(ws)
            await conn.until(lambda f: f.get("type") == "welcome")
            assert (await conn.request("subscribe_filter", filter={"type": 1}))["total"] == 0
            tap.hold_flushes()
            await send_c2c(http, bob, alice, "m1", 100)  # filter total 1: a filter push is pending
            await tap.until("the change marked for a flush", lambda: len(tap.held_marks) >= 1)
            body = {"name": "empty", "conversations": []}
            assert (await http.post(f"/v1/users/{alice}/conversation-groups", json=body)).status_code == 200
            await tap.until("the hub handled both changes", lambda: len(tap.events_of(alice, tap.passed)) >= 2)
            tap.release_flushes()
            await conn.request("ping", rid="after")  # everything of that flush is read by now
        assert [1] == [f["total"] for f in conn.pushes("filter")]


class TestLostOwnWrite:
    async def test_a_write_whose_event_is_lost_still_replies_and_reloads(
        self, tap: Tap, watch: Any, http: httpx.AsyncClient, counters: Counters, new_id: NewId
    ) -> None:
        """A WebSocket clean whose event is lost: the reply comes after the wait for its ver, and a reload
        pushes the cleaned values."""
        alice, bob = new_id("alice"), new_id("bob")
        client = await watch(alice)
        await send_c2c(http, bob, alice, "m1", 100)
        await client.wait_until(lambda c: c.total == 1)
        tap.drop(alice)
        reply = await client.request("clean", conversation=f"c2c_{bob}")
        await converges(client, counters, alice)
        assert (1, 0, 1) == (reply["cleaned"], client.total, len(tap.events_of(alice, tap.dropped)))
