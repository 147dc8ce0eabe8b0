"""Shared fixtures: one real Valkey per session (or REDDOT_TEST_REDIS_URL), tests isolated by unique IDs."""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
from redis.asyncio import Redis

from counters.embedded import EmbeddedValkey
from counters.store import Counters

pytest_plugins = ["support.live_ws"]  # the live gateway and WebSocket fixtures of tests/ws, tests/push, tests/observe


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    """uvloop is the gateway's loop; plain asyncio is enough for the tests' side."""
    return "asyncio"


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real server: Debian's Redis in CI when REDDOT_TEST_REDIS_URL is set, else an embedded Valkey."""
    url = os.environ.get("REDDOT_TEST_REDIS_URL")
    if url:
        yield url
        return
    server = EmbeddedValkey(tmp_path_factory.mktemp("valkey"))
    yield server.start()
    server.stop()


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    """A decoded-responses client for one test."""
    client = Redis.from_url(redis_url, decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture
async def counters(redis: Redis) -> Counters:
    """The counters API with its function library loaded."""
    store = Counters(redis)
    await store.start()
    return store


_serial = itertools.count()


@pytest.fixture
def new_id() -> Callable[[str], str]:
    """Factory of IDs unique to this test run: new_id('alice') -> 'alice-3f9a1c-7'."""
    run = uuid.uuid4().hex[:6]
    return lambda base: f"{base}-{run}-{next(_serial)}"
