"""Many commands in one round trip to a standalone server, with one deadline for the whole batch.

redis-py's pipeline reads each reply under its own `asyncio.timeout` and looks up a response
callback per command: for the function calls of an ingest (one per message, hundreds per request)
that was over a third of the HTTP ingest path's Python CPU (cProfile, 50-message C2C batches).
Here the batch is packed and written once and its replies are read in order under one deadline.
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

DEFAULT_DEADLINE = 5.0  # seconds for a batch's replies when the client sets no socket timeout


async def execute(client: Redis, commands: Sequence[Command]) -> list[Any]:
    """Send every command, return every reply in order; an error reply is returned, not raised.

    A dropped connection or a missed deadline is retried with the client's retry policy (as
    redis-py's pipeline does): only idempotent commands belong here.
    """
    pool = client.connection_pool
    conn: AbstractConnection = await pool.get_connection()  # type: ignore[no-untyped-call]
    try:
        return await conn.retry.call_with_retry(lambda: _round_trip(conn, commands), lambda _error: conn.disconnect())
    finally:
        await pool.release(conn)


async def _round_trip(conn: AbstractConnection, commands: Sequence[Command]) -> list[Any]:
    await conn.send_packed_command(conn.pack_commands(commands))
    replies: list[Any] = []
    try:
        async with asyncio.timeout(conn.socket_timeout or DEFAULT_DEADLINE):
            for _ in commands:
                try:
                    # math.inf: no per-reply timeout (the batch has one); a failed read disconnects.
                    replies.append(await conn.read_response(timeout=math.inf))
                except ResponseError as error:  # read whole: the connection stays in step
                    replies.append(error)
    except TimeoutError as error:  # read_response dropped the socket, whose late replies would be out of step
        raise RedisTimeoutError(f"no reply to a batch of {len(commands)} commands in time") from error
    return replies
