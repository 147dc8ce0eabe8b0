"""The bench's floors (ingest, clean-all) run against a real Valkey, count right and leave nothing behind."""

from __future__ import annotations

from redis.asyncio import Redis

from loadtest import clean_floor, ingest_floor


async def _keys(redis_url: str, pattern: str) -> list[bytes]:
    async with Redis.from_url(redis_url) as redis:
        return [k async for k in redis.scan_iter(match=pattern)]


class TestIngestFloors:
    async def test_exact_floor_updates_every_recipient_and_cleans_up(self, redis_url: str) -> None:
        """Whole batches of recipients per call; its users' hashes and position zsets are gone afterwards."""
        result = await ingest_floor.measure(redis_url, 0.2, users=300, function="exact")
        assert result["function"] == "exact"
        assert result["updates_per_valkey_cpu_s"] > 0
        assert [] == await _keys(redis_url, "*{u:floor*")

    async def test_plain_floor_cleans_up(self, redis_url: str) -> None:
        """The HINCRBY + SPUBLISH floor also leaves no user hash behind."""
        result = await ingest_floor.measure(redis_url, 0.2, users=300, function="floor")
        assert result["updates_per_s"] > 0
        assert [] == await _keys(redis_url, "*{u:floor*")


class TestCleanFloor:
    async def test_cleans_every_conversation_and_the_total(self, redis_url: str) -> None:
        """Every conversation is cleaned in slices, the total ends at zero, no zset or hash is left."""
        result = await clean_floor.measure(redis_url, 250, uid="cleanfloor-test")
        assert (250, 0) == (result["cleaned"], result["total_after"])
        assert [] == await _keys(redis_url, "*{u:cleanfloor-test}*")
