"""One-round-trip batches: replies in order, error replies returned, a missed deadline or a dropped
connection never leaves a pooled socket out of step."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from counters import batch


@pytest.fixture
async def quick(redis_url: str) -> AsyncIterator[Redis]:
    """A client with a 0.3 s socket timeout, no retries and a single pooled connection."""
    client = Redis.from_url(redis_url, decode_responses=True, socket_timeout=0.3, retry=Retry(NoBackoff(), 0))
    client.connection_pool.max_connections = 1
    yield client
    await client.aclose()


async def test_replies_come_in_order_and_error_replies_are_returned(redis: Redis, new_id: Callable[[str], str]) -> None:
    """A wrong-type error in the middle is returned in its place; the replies after it are still right."""
    key = new_id("k")
    replies = await batch.execute(redis, [("SET", key, "v"), ("HGET", key, "f"), ("GET", key), ("INCR", key)])
    assert replies[0] == "OK"  # raw replies: no redis-py response callbacks
    assert isinstance(replies[1], ResponseError) and "WRONGTYPE" in str(replies[1])
    assert replies[2] == "v"
    assert isinstance(replies[3], ResponseError)
    assert ["v"] == await batch.execute(redis, [("GET", key)])


async def test_a_missed_deadline_raises_and_the_next_batch_gets_its_own_replies(
    quick: Redis, new_id: Callable[[str], str]
) -> None:
    """A reply later than the deadline is never read as the answer to the next batch."""
    key, empty = new_id("k"), new_id("empty")
    await batch.execute(quick, [("SET", key, "fresh")])
    with pytest.raises(RedisTimeoutError):
        await batch.execute(quick, [("GET", key), ("BLPOP", empty, 1)])  # BLPOP answers after 1 s
    assert ["fresh", 1] == await batch.execute(quick, [("GET", key), ("EXISTS", key)])


async def test_a_dropped_connection_is_retried(redis_url: str, redis: Redis, new_id: Callable[[str], str]) -> None:
    """The server closing the pooled connection between batches costs a reconnect, not an error."""
    client = Redis.from_url(redis_url, decode_responses=True, retry=Retry(NoBackoff(), 1))
    client.connection_pool.max_connections = 1
    try:
        key = new_id("k")
        [conn_id] = await batch.execute(client, [("CLIENT", "ID")])
        assert 1 == await redis.client_kill_filter(_id=conn_id)
        assert ["OK"] == await batch.execute(client, [("SET", key, 1)])
        assert "1" == await redis.get(key)
        [new_conn_id] = await batch.execute(client, [("CLIENT", "ID")])
        assert new_conn_id != conn_id
    finally:
        await client.aclose()


async def test_the_deadline_moves_on_with_the_replies(
    redis_url: str, new_id: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch longer than the socket timeout is not cut off while its replies keep coming."""
    monkeypatch.setattr(batch, "REPLIES_PER_DEADLINE", 1)
    client = Redis.from_url(redis_url, decode_responses=True, socket_timeout=0.6, retry=Retry(NoBackoff(), 0))
    try:
        # 1 s or more in all, each reply within 0.35 s (Redis 7 times a blocked client out up to 0.1 s late)
        waits = [("BLPOP", new_id("empty"), 0.25)] * 4
        assert [None] * 4 == await batch.execute(client, waits)
    finally:
        await client.aclose()


async def test_an_empty_batch_needs_no_connection(redis: Redis) -> None:
    """Nothing to send: nothing is sent."""
    assert [] == await batch.execute(redis, [])
