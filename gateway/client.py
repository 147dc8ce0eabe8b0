"""An async Python client for `/v1/ws`: reconnects with backoff and jitter, resubscribes, keeps the latest state."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

TokenSource = str | Callable[[], Awaitable[str]]
NO_RETRY_CODES = {4001, 4003}  # a new token (or origin) is needed before reconnecting
_jitter = random.Random()  # private: the global generator belongs to the application


class ReplyError(Exception):
    """The gateway answered a request with an error."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message


def filter_key(flt: dict[str, Any] | None) -> str:
    """The normalized identity of a filter (docs/protocol.md §2), as a string usable as a dict key."""
    flt = flt or {}
    return orjson.dumps(
        {
            "type": flt.get("type", 0),
            "group": flt.get("group") or None,
            "mark": flt.get("mark", 0) or 0,
            "has_mention": flt.get("has_mention") or None,
        }
    ).decode()


def _emptied(conv: dict[str, Any]) -> dict[str, Any]:
    """A conversation as the gateway pushes it once nothing is stored for it (a listing leaves it out)."""
    zeros = {"unread": 0, "mentions": 0, "recv_opt": 0, "marks": 0, "read_timestamp": 0, "read_sequence": 0}
    return {**conv, **zeros, "groups": []}


class Client:
    """One user's live unread state, kept current over a WebSocket that reconnects by itself."""

    def __init__(
        self,
        url: str,
        token: TokenSource,
        *,
        backoff: tuple[float, float] = (0.1, 5.0),
        on_change: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.url, self._token, self.backoff, self.on_change = url, token, backoff, on_change
        self.total: int | None = None
        self.ver = -1
        self.filters: dict[str, int] = {}
        self.conversations: dict[str, dict[str, Any]] = {}
        self.closed_with: int | None = None  # a close code that ended reconnecting
        self.connects = 0
        self._welcomed = False  # since the last backoff: a session that got its welcome resets the delay
        self._vers: dict[str, int] = {}
        self._want_total = False
        self._subscribed: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._ws: ClientConnection | None = None
        self._up = asyncio.Event()
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    async def start(self, timeout: float = 10) -> Client:
        """Connect (and keep reconnecting in the background); returns once the first welcome arrived."""
        self._task = asyncio.create_task(self._run())
        async with asyncio.timeout(timeout):
            await self._up.wait()
        return self

    async def close(self) -> None:
        """Stop reconnecting and close the socket."""
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._ws:
            await self._ws.close()

    async def __aenter__(self) -> Client:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- requests -----------------------------------------------------------------------

    async def request(self, op: str, timeout: float = 10, **args: Any) -> dict[str, Any]:
        """Send one op and wait for its reply; raises ReplyError for an error reply."""
        async with asyncio.timeout(timeout):
            await self._up.wait()
        assert self._ws is not None
        rid = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[rid] = future
        try:
            await self._ws.send(orjson.dumps({"id": rid, "op": op, **args}).decode())
            async with asyncio.timeout(timeout):
                reply = await future
        finally:
            self._pending.pop(rid, None)
        if not reply.get("ok"):
            raise ReplyError(reply["error"]["code"], reply["error"]["message"])
        return reply

    async def get_total(self) -> int:
        """Ask for the total once; from then on (across reconnects) total pushes arrive."""
        self._want_total = True
        reply = await self.request("get_total")
        self._set("total", None, reply["total"], reply["ver"])
        await self._notify(reply)
        return int(reply["total"])

    async def subscribe_filter(self, flt: dict[str, Any]) -> int:
        """Subscribe a filter (re-sent after every reconnect); returns its total."""
        key = filter_key(flt)
        self._subscribed[key] = flt
        reply = await self.request("subscribe_filter", filter=flt)
        self._set("filter", key, reply["total"], reply["ver"])
        await self._notify(reply)
        return int(reply["total"])

    async def unsubscribe_filter(self, flt: dict[str, Any]) -> None:
        """Stop a filter's pushes."""
        self._subscribed.pop(filter_key(flt), None)
        await self.request("unsubscribe_filter", filter=flt)

    async def wait_until(self, predicate: Callable[[Client], bool], timeout: float = 10) -> None:
        """Wait until the kept state satisfies `predicate`, or raise TimeoutError."""
        deadline = time.monotonic() + timeout
        async with self._changed:
            while not predicate(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("condition not reached")
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(left):
                        await self._changed.wait()

    # --- the connection loop ----------------------------------------------------------------

    async def _run(self) -> None:
        low, high = self.backoff
        delay = low
        while True:
            try:
                token = self._token if isinstance(self._token, str) else await self._token()
                async with connect(f"{self.url}?token={quote(token)}", max_size=2**22) as ws:
                    self._ws = ws
                    await self._session(ws)
            except ConnectionClosed as closed:
                code = closed.rcvd.code if closed.rcvd else None
                if code in NO_RETRY_CODES and isinstance(self._token, str):
                    self.closed_with = code
                    return
            except (OSError, TimeoutError, InvalidHandshake):
                # InvalidHandshake: a proxy's 502/503 or a gateway mid-restart answered the upgrade; retry.
                pass
            finally:
                self._up.clear()
                self._ws = None
                for future in self._pending.values():
                    if not future.done():
                        future.set_exception(ConnectionError("connection lost"))
            # Full jitter: many clients of a restarted gateway must not come back in lockstep. A session
            # that got its welcome starts the backoff over, as reddot.js does.
            if self._welcomed:
                delay, self._welcomed = low, False
            await asyncio.sleep(_jitter.uniform(0, delay))
            delay = min(high, delay * 2)

    async def _session(self, ws: ClientConnection) -> None:
        welcome = orjson.loads(await ws.recv())
        self.connects += 1
        self._welcomed = True
        self.ver = max(self.ver, int(welcome["ver"]))
        reader = asyncio.create_task(self._read(ws))
        self._up.set()
        try:
            await self._resync()
            await reader
        finally:
            # A session can end before its reader (close() mid-resync, a request that timed out): stop it
            # and collect its end, or the loop reports "Task exception was never retrieved".
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)

    async def _resync(self) -> None:
        """Ask again for everything this client watches: state may have changed while away."""
        if self._want_total:
            await self.get_total()
        for flt in list(self._subscribed.values()):
            await self.subscribe_filter(flt)
        pages, cursor = [], None
        while True:  # every page of the listing, each with its own ver
            reply = await self.request("get_conversations", unread_only=False, **({"cursor": cursor} if cursor else {}))
            pages.append((reply["conversations"], int(reply["ver"])))
            if not (cursor := reply.get("next_cursor")):
                break
        vers = {ver for _, ver in pages}
        if len(vers) == 1:  # one state throughout: the listing is whole, and what it leaves out was emptied
            changed = self._keep_listing([conv for convs, _ in pages for conv in convs], max(vers))
        else:  # the state moved between pages: keep each page for its ver; pushes bring the rest
            changed = [conv for convs, ver in pages for conv in self._keep_each(convs, ver)]
        if changed:
            await self._notify({"type": "conversations", "ver": max(vers), "conversations": changed})

    async def _read(self, ws: ClientConnection) -> None:
        async for raw in ws:
            frame = orjson.loads(raw)
            if "id" in frame:
                future = self._pending.get(frame["id"]) if isinstance(frame["id"], int) else None
                if future and not future.done():
                    future.set_result(frame)
                continue
            kind, ver = frame.get("type"), int(frame.get("ver", -1))
            if kind == "total":
                self._set("total", None, frame["total"], ver)
            elif kind == "filter":
                self._set("filter", filter_key(frame["filter"]), frame["total"], ver)
            elif kind == "conversations":
                for conv in frame["conversations"]:
                    self._set("conversation", conv["id"], conv, ver)
            await self._notify(frame)

    def _set(self, kind: str, key: str | None, value: Any, ver: int) -> None:
        """Keep a value unless a newer one (by ver) is already kept."""
        slot = f"{kind}:{key}"
        if ver < self._vers.get(slot, -1):
            return
        self._vers[slot] = ver
        self.ver = max(self.ver, ver)
        if kind == "total":
            self.total = int(value)
        elif kind == "filter":
            self.filters[str(key)] = int(value)
        else:
            self.conversations[str(key)] = value

    def _keep_listing(self, listing: list[dict[str, Any]], ver: int) -> list[dict[str, Any]]:
        """Keep a full listing (a kept conversation it leaves out was emptied meanwhile); returns what changed."""
        fresh = {conv["id"]: conv for conv in listing}
        for cid, kept in self.conversations.items():
            fresh.setdefault(cid, _emptied(kept))
        return self._keep_each(list(fresh.values()), ver)

    def _keep_each(self, convs: list[dict[str, Any]], ver: int) -> list[dict[str, Any]]:
        """Keep each conversation's values unless newer ones are kept; returns what changed."""
        changed = []
        for conv in convs:
            cid = conv["id"]
            before = self.conversations.get(cid)
            self._set("conversation", cid, conv, ver)
            if self.conversations.get(cid) != before:
                changed.append(conv)
        return changed

    async def _notify(self, frame: dict[str, Any]) -> None:
        if self.on_change:
            self.on_change(frame)
        async with self._changed:
            self._changed.notify_all()
