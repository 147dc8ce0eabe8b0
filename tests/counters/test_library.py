"""The function library's lifecycle: a flushed library reloads on the next call; data and calls survive restarts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff

from counters.embedded import EmbeddedValkey
from counters.errors import NewerLibrary
from counters.library import NAME, VERSION
from counters.store import Counters
from counters.types import C2CMessage, GroupMessage


class TestFunctionFlush:
    async def test_single_call_reloads_the_library(
        self, counters: Counters, redis: Redis, new_id: Callable[[str], str]
    ) -> None:
        """After FUNCTION FLUSH the next single call (a clean) loads the library again and works."""
        alice, bob = new_id("alice"), new_id("bob")
        await counters.ingest([C2CMessage("m1", bob, alice, 100)])
        await redis.function_flush()
        assert (1, 2) == await counters.clean(alice, f"c2c_{bob}")
        assert await counters.library.loaded()

    async def test_ingest_counts_once_after_flush(
        self, counters: Counters, redis: Redis, new_id: Callable[[str], str]
    ) -> None:
        """After FUNCTION FLUSH a one-message ingest counts once."""
        alice, bob = new_id("alice"), new_id("bob")
        await redis.function_flush()
        assert [1] == await counters.ingest([C2CMessage("m1", bob, alice, 100)])
        assert (1, 1) == await counters.total(alice)

    async def test_pipelined_ingest_counts_once_after_flush(
        self, counters: Counters, redis: Redis, new_id: Callable[[str], str]
    ) -> None:
        """After FUNCTION FLUSH a pipelined batch (C2C and group, 30 calls) counts every message exactly once."""
        alice, bob, g = new_id("alice"), new_id("bob"), new_id("g")
        await counters.put_group(g, "Work")
        await counters.edit_members(g, [alice, bob], [])
        batch = [C2CMessage(f"c{i}", bob, alice, 100 + i) for i in range(20)]
        batch += [GroupMessage(f"g{i}", bob, g, 1 + i) for i in range(10)]
        await redis.function_flush()
        assert [1] * 30 == await counters.ingest(batch)
        assert [0] * 30 == await counters.ingest(batch)
        assert (30, 30) == await counters.total(alice)

    async def test_start_is_idempotent(self, counters: Counters, new_id: Callable[[str], str]) -> None:
        """Loading the library again (as every gateway process does at start) keeps it working."""
        alice, bob = new_id("alice"), new_id("bob")
        await counters.start()
        await counters.start()
        assert (True, [1]) == (
            await counters.library.loaded(),
            await counters.ingest([C2CMessage("m1", bob, alice, 1)]),
        )


class TestRestart:
    async def test_data_and_calls_survive_a_restart(self, tmp_path: Path, new_id: Callable[[str], str]) -> None:
        """A private Valkey restarted on the same data directory (AOF) keeps counts and read positions; calls work."""
        alice, bob = new_id("alice"), new_id("bob")
        cid = f"c2c_{bob}"
        first = EmbeddedValkey(tmp_path)
        try:
            async with Redis.from_url(first.start(), decode_responses=True) as client:
                counters = Counters(client)
                await counters.start()
                await counters.ingest([C2CMessage("m1", bob, alice, 100), C2CMessage("m2", bob, alice, 200)])
                await counters.clean(alice, cid, timestamp=100)
                await counters.set_recv_opt(alice, [cid], 2)
                before = await counters.snapshot(alice)
        finally:
            first.stop()
        second = EmbeddedValkey(tmp_path)
        try:
            async with Redis.from_url(second.start(), decode_responses=True) as client:
                counters = Counters(client)  # not started: the library must have survived, or reload itself
                assert before == await counters.snapshot(alice)
                # Read position and unread ids survived: an old message is not counted again, a new one is.
                assert [0, 0, 1] == await counters.ingest(
                    [
                        C2CMessage("m1", bob, alice, 100),
                        C2CMessage("m2", bob, alice, 200),
                        C2CMessage("m3", bob, alice, 300),
                    ]
                )
                assert (1, 6) == await counters.clean(alice, cid, timestamp=250)
        finally:
            second.stop()

    async def test_same_client_works_after_a_restart_on_the_same_port(
        self, tmp_path: Path, new_id: Callable[[str], str]
    ) -> None:
        """A client retrying like the gateway's makes its next call to a restarted server (same port) without error."""
        alice, bob = new_id("alice"), new_id("bob")
        first = EmbeddedValkey(tmp_path)
        url = first.start()
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        # Its pooled connection died with the first server: the retry reconnects (ingest is idempotent).
        retry = Retry(ExponentialWithJitterBackoff(base=0.02, cap=0.25), retries=3)
        client = Redis.from_url(url, decode_responses=True, retry=retry)
        try:
            counters = Counters(client)
            await counters.start()
            await counters.ingest([C2CMessage("m1", bob, alice, 100)])
            first.stop()
            second = EmbeddedValkey(tmp_path, port=port)
            second.start()
            try:
                assert [1] == await counters.ingest([C2CMessage("m2", bob, alice, 200)])
                assert (2, 2) == await counters.total(alice)
            finally:
                second.stop()
        finally:
            first.stop()
            await client.aclose()


def stub(body: str) -> str:
    """A stand-in `reddot` library holding only `body` (a function registration)."""
    return f"#!lua name={NAME}\n{body}\n"


class TestVersion:
    async def test_the_loaded_library_reports_its_version(self, counters: Counters) -> None:
        """After a start the server's library is this process's version."""
        assert VERSION == await counters.library.server_version()

    async def test_a_newer_library_on_the_server_is_left_in_place(self, counters: Counters, redis: Redis) -> None:
        """A process older than the server's library refuses to load (503 unavailable) and replaces nothing."""
        newer = stub(f"redis.register_function('reddot_version', function() return {VERSION + 1} end)")
        await redis.function_load(newer, replace=True)
        try:
            with pytest.raises(NewerLibrary) as refused:
                await Counters(redis).start()
            left = await counters.library.server_version()
        finally:
            await redis.function_delete(NAME)
            await counters.start()
        assert ("unavailable", VERSION + 1) == (refused.value.code, left)
        assert VERSION == await counters.library.server_version()

    async def test_a_library_from_before_versions_is_replaced(self, counters: Counters, redis: Redis) -> None:
        """A library without reddot_version counts as version 1, and a start replaces it."""
        await redis.function_load(stub("redis.register_function('clean_all', function() return 0 end)"), replace=True)
        try:
            before = await counters.library.server_version()
        finally:
            await counters.start()
        assert (1, VERSION) == (before, await counters.library.server_version())


class TestEmbeddedConfig:
    async def test_big_user_hashes_are_hashtables(self, tmp_path: Path) -> None:
        """Past 128 fields a user hash leaves the listpack, whose every lookup is a scan."""
        server = EmbeddedValkey(tmp_path)
        try:
            async with Redis.from_url(server.start(), decode_responses=True) as redis:
                await redis.hset("small", mapping={f"r:c{i}": i for i in range(128)})
                await redis.hset("big", mapping={f"r:c{i}": i for i in range(129)})
                assert ("listpack", "hashtable") == (
                    await redis.object("encoding", "small"),
                    await redis.object("encoding", "big"),
                )
        finally:
            server.stop()
