"""Many commands in one round trip to a standalone server, with one deadline per 64 replies.

redis-py's pipeline reads each reply under its own `asyncio.timeout` and looks up a response
callback per command: for the function calls of an ingest (one per message, hundreds per request)
that was over a third of the HTTP ingest path's Python CPU (cProfile, 50-message C2C batches).
Here the batch is packed and written once and its replies are read in order, the socket timeout
applying to each run of 64 replies rather than to each one.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

Command = Sequence[Any]  # a command's name and arguments, as redis-py encodes them

REPLIES_PER_DEADLINE = 64  # the deadline moves on after this many replies, not after each (a timer each)


async def execute(client: Redis, commands: Sequence[Command]) -> list[Any]:
    """Send every command, return every reply in order; an error reply is returned, not raised.

    A dropped connection or a missed deadline is retried with the client's retry policy (as
    redis-py's pipeline does): only idempotent commands belong here.
    """
    if not commands:
        return []
    pool = client.connection_pool
    conn: AbstractConnection = await pool.get_connection()  # type: ignore[no-untyped-call]
    try:
        return await conn.retry.call_with_retry(lambda: _round_trip(conn, commands), lambda _error: conn.disconnect())
    finally:
        await pool.release(conn)


async def _round_trip(conn: AbstractConnection, commands: Sequence[Command]) -> list[Any]:
    await conn.send_packed_command(conn.pack_commands(commands))
    replies: list[Any] = []
    limit = conn.socket_timeout  # as for redis-py's pipeline: None waits as long as it takes
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout_at(None if limit is None else loop.time() + limit) as deadline:
            for count in range(1, len(commands) + 1):
                try:
                    # math.inf: no per-reply timeout (the batch has its deadline); a failed read disconnects.
                    replies.append(await conn.read_response(timeout=math.inf))
                except ResponseError as error:  # read whole: the connection stays in step
                    replies.append(error)
                if limit is not None and count % REPLIES_PER_DEADLINE == 0:
                    # Like the pipeline's timeout per reply, but per 64: a long batch queued behind
                    # other connections' work on a busy server is slow, not dead.
                    deadline.reschedule(loop.time() + limit)
    except TimeoutError as error:  # read_response dropped the socket, whose late replies would be out of step
        raise RedisTimeoutError(f"no reply within {limit} s in a batch of {len(commands)} commands") from error
    return replies
