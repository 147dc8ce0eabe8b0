"""The per-process hub: one pub/sub reader, each online user's state, fan-out to local connections."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
from collections import deque
from collections.abc import Callable, Coroutine, Iterable
from typing import Protocol

from redis.asyncio import RedisCluster
from redis.asyncio.connection import ConnectionPool
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from counters import keys
from counters.library import Client
from counters.snapshot import Event, parse_event
from counters.store import Counters
from counters.types import Conversation, Filter, UserState

from . import ws_metrics as m

log = logging.getLogger("reddot.hub")
_CHANNEL_PREFIX, _CHANNEL_SUFFIX = keys.events("\0").encode().split(b"\0")
_RESUBSCRIBED = b"reddot-resubscribed"


class Listener(Protocol):
    """What the hub tells a connection: which values changed (it reads them from the user's state)."""

    def changed(self, total: bool, conversations: Iterable[str], published_ms: int | None) -> None: ...


class User:
    """One online user: the state mirrored from Redis and the local connections watching it."""

    def __init__(self, uid: str) -> None:
        self.uid = uid
        self.state = UserState(ver=-1)
        self.listeners: set[Listener] = set()
        self.loaded = asyncio.Event()
        self.reloading = False
        self.reload_again = False  # a reason to reload arrived while a reload ran
        self.held: list[Event] = []  # events that arrived while a snapshot was loading
        self.ver_waiters: list[tuple[int, asyncio.Future[None]]] = []

    def filter_total(self, flt: Filter) -> int:
        """A filter total from the mirrored state."""
        return self.state.filter_total(flt)


class Hub:
    """Mirrors the state of every locally connected user; exact through snapshot reloads."""

    def __init__(self, pool: ConnectionPool, counters: Counters) -> None:
        self.counters = counters
        self.users: dict[str, User] = {}
        self._pool = pool
        self._conn: object | None = None
        self._confirmations: dict[bytes, deque[asyncio.Future[None]]] = {}
        self._reader: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._closing = False
        self._tasks: set[asyncio.Task[None]] = set()

    @classmethod
    def for_client(cls, client: Client, counters: Counters) -> Hub:
        """A hub reading pub/sub from the server `client` talks to (raw bytes: channels are parsed by hand)."""
        if isinstance(client, RedisCluster):
            raise NotImplementedError("live push on Redis Cluster needs one reader per node: not built yet")
        kwargs = {**client.connection_pool.connection_kwargs, "decode_responses": False}
        return cls(ConnectionPool(connection_class=client.connection_pool.connection_class, **kwargs), counters)

    async def start(self) -> None:
        """Start the pub/sub reader (it connects, and reconnects, by itself: Redis may be down now)."""
        self._reader = asyncio.create_task(self._read_forever(), name="reddot-hub-reader")

    async def stop(self) -> None:
        """Stop reading and release every subscription."""
        self._closing = True
        for task in [self._reader, *self._tasks]:
            if task:
                task.cancel()
        for task in [self._reader, *self._tasks]:
            if task:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        await self._pool.disconnect()

    # --- users coming and going -------------------------------------------------------

    async def attach(self, uid: str, listener: Listener) -> User:
        """Watch a user: the first local connection subscribes and loads the snapshot."""
        user = self.users.get(uid)
        if user is None:
            user = self.users[uid] = User(uid)
            m.USERS_ONLINE.set(len(self.users))
            self._spawn(self._subscribe(user))
        user.listeners.add(listener)
        async with asyncio.timeout(10):
            await user.loaded.wait()
        return user

    def detach(self, user: User, listener: Listener) -> None:
        """Stop watching; the last local connection of a user unsubscribes."""
        user.listeners.discard(listener)
        if user.listeners or self.users.get(user.uid) is not user:
            return
        del self.users[user.uid]
        m.USERS_ONLINE.set(len(self.users))
        if self._connected.is_set():
            self._spawn(self._send("SUNSUBSCRIBE", keys.events(user.uid)))

    async def wait_for_ver(self, user: User, ver: int, timeout: float = 2.0) -> None:
        """Wait until the mirrored state reached `ver` (the event of a write this process made)."""
        if user.state.ver >= ver:
            return
        future = asyncio.get_running_loop().create_future()
        user.ver_waiters.append((ver, future))
        try:
            async with asyncio.timeout(timeout):
                await future
        except TimeoutError:
            # The event was lost or is late: the snapshot is the authority.
            self._spawn(self._reload(user, "timeout"))

    # --- pub/sub ------------------------------------------------------------------------

    async def _subscribe(self, user: User) -> None:
        await self._connected.wait()
        channel = keys.events(user.uid).encode()
        confirmed = asyncio.get_running_loop().create_future()
        self._confirmations.setdefault(channel, deque()).append(confirmed)
        await self._send("SSUBSCRIBE", channel)
        await confirmed
        # Subscribed before reading: every change after the snapshot arrives as an event.
        await self._reload(user, "subscribe")

    async def _send(self, *args: object) -> None:
        conn = self._conn
        if conn is not None:
            with contextlib.suppress(RedisConnectionError, OSError):
                await conn.send_command(*args)  # type: ignore[attr-defined]

    async def _read_forever(self) -> None:
        delay = 0.05
        while not self._closing:
            conn = self._pool.make_connection()  # type: ignore[no-untyped-call]
            try:
                await conn.connect()
                self._conn = conn
                channels = [keys.events(uid) for uid in self.users]
                for i in range(0, len(channels), 500):
                    await conn.send_command("SSUBSCRIBE", *channels[i : i + 500])
                # The PING's reply comes after every confirmation: then, and only then, reload.
                await conn.send_command("PING", _RESUBSCRIBED)
                self._connected.set()
                delay = 0.05
                while True:
                    self._on_reply(await conn.read_response(timeout=math.inf, push_request=True))
            except (RedisConnectionError, RedisTimeoutError, OSError) as error:
                if self._closing:
                    return
                log.warning("pub/sub connection lost (%s); reconnecting", error)
                m.PUBSUB_RECONNECTS.inc()
            finally:
                self._connected.clear()
                self._conn = None
                with contextlib.suppress(Exception):
                    await conn.disconnect()
            # Back off with jitter so many gateways do not reconnect in lockstep.
            await asyncio.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 2.0)

    def _on_reply(self, reply: object) -> None:
        if reply == _RESUBSCRIBED or (isinstance(reply, list) and reply[-1] == _RESUBSCRIBED):
            self._resubscribed()
            return
        if not isinstance(reply, list) or len(reply) < 3:
            return
        kind, channel, payload = reply[0], reply[1], reply[2]
        if kind == b"smessage":
            uid = channel[len(_CHANNEL_PREFIX) : -len(_CHANNEL_SUFFIX)].decode()
            user = self.users.get(uid)
            m.EVENTS.inc()
            if user is not None:
                self._on_event(user, parse_event(payload))
        elif kind == b"ssubscribe":
            waiters = self._confirmations.get(channel)
            if waiters:
                future = waiters.popleft()
                if not future.done():
                    future.set_result(None)

    def _resubscribed(self) -> None:
        """After a (re)connect every user is subscribed again; events may have been lost: reload all."""
        for waiters in self._confirmations.values():
            for future in waiters:
                if not future.done():
                    future.set_result(None)
        self._confirmations.clear()
        for user in list(self.users.values()):
            self._spawn(self._reload(user, "reconnect"))

    # --- applying events and snapshots --------------------------------------------------------

    def _on_event(self, user: User, event: Event) -> None:
        if user.reloading:
            user.held.append(event)
        elif event.ver <= user.state.ver:
            m.STALE_EVENTS.inc()
        elif event.ver > user.state.ver + 1:
            user.held.append(event)
            self._spawn(self._reload(user, "gap"))
        else:
            self._apply(user, event)

    def _apply(self, user: User, event: Event) -> None:
        state = user.state
        state.ver, old_total = event.ver, state.total
        state.total = event.total
        for conv in event.conversations:
            if _is_empty(conv):
                state.conversations.pop(conv.id, None)
            else:
                state.conversations[conv.id] = conv
        ids = [c.id for c in event.conversations]
        for listener in list(user.listeners):
            listener.changed(old_total != event.total, ids, event.published_ms)
        self._wake_waiters(user)

    async def _reload(self, user: User, reason: str) -> None:
        if user.reloading:
            user.reload_again = True
            return
        user.reloading = True
        try:
            fresh = await self._fresh_snapshot(user, reason)
            old = user.state
            user.state = fresh
            changed = [cid for cid in old.conversations.keys() | fresh.conversations.keys()
                       if old.conversations.get(cid) != fresh.conversations.get(cid)]
            held, user.held = [e for e in user.held if e.ver > fresh.ver], []
        finally:
            user.reloading = False
        user.loaded.set()
        for listener in list(user.listeners):
            listener.changed(old.total != fresh.total, changed, None)
        self._wake_waiters(user)
        for event in sorted(held, key=lambda e: e.ver):
            self._on_event(user, event)

    async def _fresh_snapshot(self, user: User, reason: str) -> UserState:
        """Read the snapshot, again if another reason to reload came up meanwhile."""
        while True:
            user.reload_again = False
            try:
                fresh = await self.counters.snapshot(user.uid)
            except (RedisConnectionError, RedisTimeoutError, OSError):
                await asyncio.sleep(0.2)  # Redis is away; the reader reconnects meanwhile
                continue
            m.RESYNCS.labels(reason).inc()
            if not user.reload_again:
                return fresh

    def _wake_waiters(self, user: User) -> None:
        if not user.ver_waiters:
            return
        waiting = []
        for ver, future in user.ver_waiters:
            if ver <= user.state.ver:
                if not future.done():
                    future.set_result(None)
            else:
                waiting.append((ver, future))
        user.ver_waiters = waiting

    def _spawn(self, coro: Coroutine[object, object, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("hub task failed", exc_info=task.exception())


def _is_empty(conv: Conversation) -> bool:
    """A conversation with nothing stored: the snapshot would not list it either."""
    return conv == Conversation(conv.id)


__all__ = ["Callable", "Hub", "Listener", "User"]
