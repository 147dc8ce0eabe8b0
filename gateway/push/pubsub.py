"""Pub/sub readers: one connection per Redis node, subscribing users' event channels and reading them.

A reader tells its owner three things: an event arrived, every channel of this node was
(re)subscribed after a (re)connect (events may have been lost meanwhile), and the server
dropped a channel we still want (its slot moved to another node of a cluster).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import deque
from collections.abc import Callable
from typing import Any

from redis.asyncio.connection import ConnectionPool
from redis.crc import key_slot
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from gateway.compat import buffered_replies
from gateway.observe import push_metrics as m

log = logging.getLogger("reddot.pubsub")
_jitter = random.Random()  # private: the global generator belongs to the application
RESUBSCRIBED = b"reddot-resubscribed"
ALIVE = b"reddot-alive"
# A reader quiet this long sends a PING, and gives the connection up if that stays unanswered as long:
# no read waits forever (a half-open TCP connection would otherwise hold every push of this node).
IDLE_SECONDS = 10.0
STOP_SECONDS = 2.0  # a reader that has not ended this long after stop() is left behind
SUBSCRIBE_BATCH = 500  # channels per SSUBSCRIBE after a reconnect (all of one cluster slot)

OnEvent = Callable[[bytes, bytes], None]
OnChannels = Callable[[list[bytes]], None]


class ShardReader:
    """One pub/sub connection to one node: it keeps `channels` subscribed, reconnecting with backoff."""

    def __init__(self, pool: ConnectionPool, on_event: OnEvent, on_resubscribed: OnChannels, on_moved: OnChannels):
        self.pool = pool
        self.channels: set[bytes] = set()
        self._on_event, self._on_resubscribed, self._on_moved = on_event, on_resubscribed, on_moved
        self._conn: Any = None
        self._confirmations: dict[bytes, deque[asyncio.Future[None]]] = {}
        self._connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    def start(self) -> None:
        """Connect in the background (Redis may be down now: the reader keeps trying)."""
        self._task = asyncio.create_task(self._read_forever(), name=f"reddot-pubsub-{id(self):x}")

    async def stop(self) -> None:
        """Close the connection and stop reading."""
        self._closing = True
        if self._task:
            self._task.cancel()
            if self._conn is not None:
                # Closing the socket ends a pending read even where the cancellation alone did not
                # (seen after uvicorn failed to bind: the process hung in the lifespan's shutdown).
                with contextlib.suppress(Exception):
                    await self._conn.disconnect(nowait=True)
            await asyncio.wait({self._task}, timeout=STOP_SECONDS)
        await self.pool.disconnect()

    async def subscribe(self, channel: bytes) -> None:
        """Subscribe and wait for the confirmation (or for the bulk resubscribe of a reconnect)."""
        self.channels.add(channel)
        await self._connected.wait()
        confirmed = asyncio.get_running_loop().create_future()
        self._confirmations.setdefault(channel, deque()).append(confirmed)
        await self._send("SSUBSCRIBE", channel)
        await confirmed

    async def unsubscribe(self, channel: bytes) -> None:
        """Stop wanting a channel."""
        self.channels.discard(channel)
        if self._connected.is_set():
            await self._send("SUNSUBSCRIBE", channel)

    async def _send(self, *args: object) -> None:
        conn = self._conn
        if conn is not None:
            with contextlib.suppress(RedisConnectionError, OSError):
                await conn.send_command(*args)

    async def _read_forever(self) -> None:
        delay = 0.05
        while not self._closing:
            conn = self.pool.make_connection()  # type: ignore[no-untyped-call]
            try:
                await conn.connect()
                self._conn = conn
                # One write for every SSUBSCRIBE (one per slot: on a standalone server that is about one per
                # user) and the PING, whose reply comes after every confirmation: then, and only then, reload.
                commands = [("SSUBSCRIBE", *batch) for batch in subscribe_batches(self.channels)]
                await conn.send_packed_command(conn.pack_commands([*commands, ("PING", RESUBSCRIBED)]))
                self._connected.set()
                delay = 0.05
                buffered = buffered_replies(conn)
                pinged = False
                while True:
                    reply = await conn.read_response(timeout=IDLE_SECONDS, push_request=True)
                    if reply is None:  # quiet for IDLE_SECONDS: is the server still there?
                        if pinged:
                            raise RedisTimeoutError(f"no reply to a PING in {IDLE_SECONDS} s")
                        await conn.send_command("PING", ALIVE)
                        pinged = True
                        continue
                    pinged = False
                    self._on_reply(reply)
                    # Every event already in the buffer, without a coroutine round per event: one socket
                    # read then serves many events, and each writer wakes once for all of them.
                    while (reply := buffered()) is not False:
                        self._on_reply(reply)
            except (RedisConnectionError, RedisTimeoutError, OSError) as error:
                if self._closing:
                    return
                log.warning("pub/sub connection lost (%s); reconnecting", error)
                m.PUBSUB_RECONNECTS.inc()
            except Exception as error:  # an error reply (MASTERDOWN, MOVED...) or a bug: every push needs this task
                if self._closing:
                    return
                if isinstance(error, RedisError):  # a server state, repeated every reconnect while it lasts
                    log.warning("pub/sub reader got %r; reconnecting", error)
                else:
                    log.exception("pub/sub reader failed; reconnecting (every channel is resubscribed and reloaded)")
                m.PUBSUB_RECONNECTS.inc()
            finally:
                self._connected.clear()
                self._conn = None
                with contextlib.suppress(Exception):
                    await conn.disconnect()
            # Back off with jitter so many gateways do not reconnect in lockstep.
            await asyncio.sleep(delay * (0.5 + _jitter.random()))
            delay = min(delay * 2, 2.0)

    def _on_reply(self, reply: object) -> None:
        if reply == RESUBSCRIBED or (isinstance(reply, list) and reply[-1] == RESUBSCRIBED):
            self._resubscribed()
        elif isinstance(reply, list) and len(reply) >= 3:
            kind, channel = reply[0], reply[1]
            if kind == b"smessage":
                self._on_event(channel, reply[2])
            elif kind == b"ssubscribe":
                waiters = self._confirmations.get(channel)
                if waiters:
                    _resolve(waiters.popleft())
                    if not waiters:
                        del self._confirmations[channel]  # one per channel ever subscribed would pile up
            elif kind == b"sunsubscribe" and channel in self.channels:
                # Not asked for: the channel's slot moved to another node.
                self.channels.discard(channel)
                self._on_moved([channel])

    def _resubscribed(self) -> None:
        for waiters in self._confirmations.values():
            for future in waiters:
                _resolve(future)
        self._confirmations.clear()
        self._on_resubscribed(sorted(self.channels))


def subscribe_batches(channels: set[bytes]) -> list[list[bytes]]:
    """The channels to SSUBSCRIBE, one command per batch: on a cluster one command may not span slots."""
    by_slot: dict[int, list[bytes]] = {}
    for channel in sorted(channels):
        by_slot.setdefault(key_slot(channel), []).append(channel)
    return [same[i : i + SUBSCRIBE_BATCH] for same in by_slot.values() for i in range(0, len(same), SUBSCRIBE_BATCH)]


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
