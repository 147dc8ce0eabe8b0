"""The per-process hub: pub/sub readers (one per Redis node), each online user's state, fan-out to connections."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine, Sequence
from typing import Any, Protocol

from redis.asyncio import RedisCluster
from redis.asyncio.connection import ConnectionPool
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from counters import Client, Counters, Event, Filter, UserState, keys, parse_event
from gateway.errors import UNAVAILABLE
from gateway.observe import push_metrics as m
from gateway.push.pubsub import ShardReader

log = logging.getLogger("reddot.hub")
ATTACH_TIMEOUT = 10.0  # seconds a new connection waits for its user's first snapshot (then: close 1013)
_CHANNEL_PREFIX, _CHANNEL_SUFFIX = keys.events("\0").encode().split(b"\0")


def _channel(uid: str) -> bytes:
    return keys.events(uid).encode()


class Listener(Protocol):
    """What the hub tells a connection: which values changed (it reads them from the user's state)."""

    def changed(self, total: bool, conversations: Sequence[str], published_ms: int | None) -> None: ...


class User:
    """One online user: the state mirrored from Redis and the local connections watching it."""

    __slots__ = ("held", "listeners", "loaded", "reader", "reload_again", "reloading", "state", "uid", "ver_waiters")

    def __init__(self, uid: str) -> None:
        self.uid = uid
        self.state = UserState(ver=-1)
        self.listeners: set[Listener] = set()
        self.loaded = asyncio.get_running_loop().create_future()  # done at the first snapshot (lighter than an Event)
        self.reloading = False
        self.reload_again = False  # a reason to reload arrived while a reload ran
        self.held: list[Event] = []  # events that arrived while a snapshot was loading
        self.ver_waiters: list[tuple[int, asyncio.Future[None]]] = []
        self.reader: ShardReader | None = None  # the pub/sub reader holding this user's channel

    def filter_total(self, flt: Filter) -> int:
        """A filter total from the mirrored state."""
        return self.state.filter_total(flt)


class Hub:
    """Mirrors the state of every locally connected user; exact through snapshot reloads."""

    def __init__(self, client: Client, counters: Counters) -> None:
        self.client, self.counters = client, counters
        self.users: dict[str, User] = {}
        self.readers: dict[str, ShardReader] = {}  # one per Redis node, by node name
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Open the pub/sub reader of a standalone server now (a cluster's open as users arrive)."""
        if not isinstance(self.client, RedisCluster):
            self._reader_for(b"")

    async def stop(self) -> None:
        """Stop reading and release every subscription."""
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for reader in self.readers.values():
            await reader.stop()

    # --- users coming and going -------------------------------------------------------

    async def attach(self, uid: str, listener: Listener) -> User:
        """Watch a user: the first local connection subscribes and loads the snapshot."""
        user = self.users.get(uid)
        if user is None:
            user = self.users[uid] = User(uid)
            m.USERS_ONLINE.set(len(self.users))
            self._spawn(self._subscribe(user, "subscribe"))
        user.listeners.add(listener)
        try:
            async with asyncio.timeout(ATTACH_TIMEOUT):
                await asyncio.shield(user.loaded)  # a waiter that times out must not cancel it for the others
        except BaseException:  # timed out or cancelled: this listener is not watching, and may be the last
            self.detach(user, listener)
            raise
        return user

    def detach(self, user: User, listener: Listener) -> None:
        """Stop watching; the last local connection of a user unsubscribes."""
        user.listeners.discard(listener)
        if user.listeners or self.users.get(user.uid) is not user:
            return
        del self.users[user.uid]
        m.USERS_ONLINE.set(len(self.users))
        if user.reader is not None:
            self._spawn(user.reader.unsubscribe(_channel(user.uid)))

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

    def _reader_for(self, channel: bytes) -> ShardReader:
        """The reader of the node that owns the channel's slot (the only one on a standalone server)."""
        client = self.client
        connection_class: type[Any]
        if isinstance(client, RedisCluster):
            node = client.get_node_from_key(channel.decode())
            if node is None:
                raise RedisConnectionError(f"no cluster node serves {channel!r} yet")
            name, kwargs, connection_class = node.name, node.connection_kwargs, node.connection_class
        else:
            pool = client.connection_pool
            name, kwargs, connection_class = "", pool.connection_kwargs, pool.connection_class
        reader = self.readers.get(name)
        if reader is None:
            # Raw bytes: channels and events are parsed by hand, faster than decoding every reply.
            raw = ConnectionPool(connection_class=connection_class, **{**kwargs, "decode_responses": False})
            reader = self.readers[name] = ShardReader(raw, self._on_message, self._on_resubscribed, self._on_moved)
            reader.start()
        return reader

    async def _subscribe(self, user: User, reason: str) -> None:
        channel = _channel(user.uid)
        user.reader = self._reader_for(channel)
        await user.reader.subscribe(channel)
        if user.uid not in self.users:  # every connection left while subscribing: do not keep the channel
            await user.reader.unsubscribe(channel)
            return
        # Subscribed before reading: every change after the snapshot arrives as an event.
        await self._reload(user, reason)

    def _on_message(self, channel: bytes, payload: bytes) -> None:
        m.PUSH.events += 1
        user = self.users.get(channel[len(_CHANNEL_PREFIX) : -len(_CHANNEL_SUFFIX)].decode())
        if user is None:
            return
        try:
            event = parse_event(payload)
        except Exception:  # not one of ours (another publisher, a newer format): Redis still has the truth
            log.warning("unreadable event for %s; reloading the user", user.uid, exc_info=True)
            self._spawn(self._reload(user, "bad_event"))
            return
        self._on_event(user, event)

    def _on_resubscribed(self, channels: list[bytes]) -> None:
        """A reader (re)connected and subscribed again; events may have been lost: reload its users."""
        for channel in channels:
            user = self.users.get(channel[len(_CHANNEL_PREFIX) : -len(_CHANNEL_SUFFIX)].decode())
            if user is not None:
                self._spawn(self._reload(user, "reconnect"))

    def _on_moved(self, channels: list[bytes]) -> None:
        """The server dropped channels whose slot moved: learn the new layout, subscribe there, reload."""
        self._spawn(self._follow(channels))

    async def _follow(self, channels: list[bytes]) -> None:
        if isinstance(self.client, RedisCluster):
            await self.client.nodes_manager.initialize()
        for channel in channels:
            user = self.users.get(channel[len(_CHANNEL_PREFIX) : -len(_CHANNEL_SUFFIX)].decode())
            if user is not None:
                self._spawn(self._subscribe(user, "moved"))

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
            state.put(conv)
        for name, size in (event.groups or {}).items():
            if size is None:
                state.groups.pop(name, None)
            else:
                state.groups[name] = size
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
            loaded = await self._fresh_snapshot(user, reason)
            if loaded is None:
                return
            fresh, before = loaded
            old = user.state
            user.state = fresh
            changed = [
                cid
                for cid in old.conversations.keys() | fresh.conversations.keys()
                if old.conversations.get(cid) != fresh.conversations.get(cid)
            ]
            # An event held before the read began was published before it: the snapshot covers it. One the
            # snapshot does not reach never happened there (its write was lost in a failover, or another
            # publisher sent it): kept, it would start a gap reload after every reload, without end.
            held, user.held = [e for e in user.held[before:] if e.ver > fresh.ver], []
        finally:
            user.reloading = False
        if not user.loaded.done():
            user.loaded.set_result(None)
        for listener in list(user.listeners):
            listener.changed(old.total != fresh.total, changed, None)
        self._wake_waiters(user)
        for event in sorted(held, key=lambda e: e.ver):
            self._on_event(user, event)

    async def _fresh_snapshot(self, user: User, reason: str) -> tuple[UserState, int] | None:
        """Read the snapshot, again if another reason to reload came up meanwhile, with how many events
        were held when its read began (None: nobody here watches the user any more). Any Redis error is
        retried with backoff: a failover answers MASTERDOWN or READONLY for a while, and a user whose
        snapshot gave up would never load."""
        delay = 0.2
        while self.users.get(user.uid) is user:
            user.reload_again = False
            before = len(user.held)  # held only grows while reloading
            try:
                fresh = await self.counters.snapshot(user.uid)
            except (RedisError, OSError) as error:
                if not isinstance(error, (*UNAVAILABLE, OSError)):  # away or failing over: expected, not logged
                    log.warning("snapshot of %s failed (%r); retrying", user.uid, error)
                await asyncio.sleep(delay)  # the reader reconnects meanwhile
                delay = min(delay * 2, 2.0)
                continue
            m.RESYNCS.labels(reason).inc()
            if not user.reload_again:
                return fresh, before
        return None

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
