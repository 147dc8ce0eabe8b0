"""The gateway's Redis client, built from a URL: standalone, TLS, or cluster."""

from __future__ import annotations

import asyncio
import contextlib
import random
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit, urlunsplit

import hiredis
from redis.asyncio import BlockingConnectionPool, Redis, RedisCluster
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import RedisError

from .library import Client

C = TypeVar("C", bound=AbstractConnection)

MAX_CONNECTIONS = 200  # per process, to a standalone server
CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}


def retry_policy() -> Retry:
    """A few quick retries: ride out a dropped connection, but answer 503 within about half a second.

    redis-py's default (10 retries, up to 1 s apart) would hold a request for seconds while Redis is
    down. A retried call cannot count twice: ingest and recall are keyed by message id, clean by
    position, settings by value (a repeated conversation-group create or rename answers 409 or 404).
    """
    return Retry(PrivateJitterBackoff(base=0.02, cap=0.25), retries=3)


class PrivateJitterBackoff(ExponentialWithJitterBackoff):
    """redis-py's exponential backoff with jitter, drawn from a private generator.

    The global `random` belongs to the application (and Hypothesis checks it is left alone):
    retries against a Redis that is down must not draw from it.
    """

    _jitter = random.Random()

    def compute(self, failures: int) -> float:
        """Seconds to wait before retry number `failures`."""
        return float(min(self._cap, self._jitter.random() * self._base * 2**failures))


def connect(url: str) -> Client:
    """A decoded-responses client; `redis+cluster://` (or `rediss+cluster://`) makes a cluster client."""
    scheme, sep, rest = url.partition("://")
    if scheme in CLUSTER_SCHEMES:
        cluster = RedisCluster.from_url(
            f"{CLUSTER_SCHEMES[scheme]}{sep}{rest}", decode_responses=True, retry=retry_policy()
        )
        # RedisCluster takes no connection class: set it where its nodes are made from (the nodes
        # manager shares this dict) and on the startup nodes already made.
        packed = packing(cluster.connection_kwargs["connection_class"])
        cluster.connection_kwargs["connection_class"] = packed
        for node in cluster.nodes_manager.startup_nodes.values():
            node.connection_class = packed
        return cluster
    # A blocking pool: past MAX_CONNECTIONS calls in flight, a call waits for a free connection
    # instead of failing with MaxConnectionsError (redis-py's default pool refuses the 101st).
    pool = BlockingConnectionPool.from_url(
        url, decode_responses=True, max_connections=MAX_CONNECTIONS, timeout=5, retry=retry_policy()
    )
    pool.connection_class = packing(pool.connection_class)
    return Redis.from_pool(pool)  # owns the pool: aclose() closes its connections


async def reachable(url: str, seconds: float) -> str | None:
    """None if the server at `url` answers PING within `seconds`; otherwise why not (for a startup check)."""
    client = connect(url)
    try:
        async with asyncio.timeout(seconds):
            await client.ping()
        return None
    except TimeoutError:
        return f"no answer within {seconds:.0f} s"
    except (RedisError, OSError) as error:
        return f"{type(error).__name__}: {error}"
    finally:
        with contextlib.suppress(Exception):
            await client.aclose()


def redacted(url: str) -> str:
    """The URL with its password replaced, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def packing(connection_class: type[C]) -> type[C]:
    """The connection class with its commands packed by hiredis."""
    return cast("type[C]", type(f"Packed{connection_class.__name__}", (PackInC, connection_class), {}))


class PackInC(AbstractConnection):
    """Commands packed by hiredis, in C, as redis-py's sync client does; its asyncio client packs in Python.

    That Python packing was a third of the HTTP ingest path's CPU (py-spy, 5,000 C2C messages/s).
    """

    def pack_command(self, *args: Any) -> list[bytes]:
        """The command in RESP, from its arguments (a first argument like "CONFIG GET" is split, as redis-py does)."""
        if isinstance(args[0], str):
            args = (*args[0].encode().split(), *args[1:])
        elif b" " in args[0]:
            args = (*args[0].split(), *args[1:])
        try:
            return [hiredis.pack_command(args)]
        except TypeError:  # a memoryview argument: redis-py's own packing handles it
            return super().pack_command(*args)
