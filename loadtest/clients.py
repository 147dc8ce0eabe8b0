"""WebSocket client processes: each opens its share of connections, reads frames, keeps the latest values.

A client does as little as it can per frame (one orjson parse, a few dict writes): on two shared
cores every microsecond it spends is taken from the server it measures.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect

from gateway import paced_gc, quiet_gc

CONNECT_CONCURRENCY = 100  # handshakes in flight per process
CONNECT_TIMEOUT = 60.0
PER_PROCESS = 8000  # connections per client process, below the 20000 open-file limit with room to spare
SYSTEMS = ("reddot", "socketio", "bare")
Values = tuple[int, int, int, int]  # unread, mentions, recv_opt, marks


@dataclass(frozen=True, slots=True)
class Spec:
    """What one client process does: which system, which URLs, which users (with their tokens)."""

    system: str
    urls: list[str]  # one WebSocket base URL per server; connection i uses urls[i % len]
    users: list[tuple[str, str]]  # (userID, token) per connection
    want_total: bool = True


@dataclass(slots=True)
class Seen:
    """What one connection received: its latest values and when each unread rise arrived."""

    uid: str
    conversations: dict[str, Values] = field(default_factory=dict)
    total: int | None = None
    frames: int = 0
    rises: list[tuple[str, int, int, float]] = field(default_factory=list)  # conv, old, new unread, time
    latencies: list[float] = field(default_factory=list)  # peers: receive time − publish time in the frame


def _url(spec: Spec, index: int, uid: str, token: str) -> str:
    base = spec.urls[index % len(spec.urls)]
    if spec.system == "reddot":
        return f"{base}/v1/ws?token={token}"
    if spec.system == "socketio":
        return f"{base}/socket.io/?EIO=4&transport=websocket&user={uid}"
    return f"{base}/ws?user={uid}"


def _on_reddot(seen: Seen, data: dict[str, Any], now: float) -> None:
    kind = data.get("type")
    if kind == "conversations":
        convs = seen.conversations
        for c in data["conversations"]:
            cid, unread = c["id"], c["unread"]
            old = convs.get(cid)
            before = old[0] if old else 0
            convs[cid] = (unread, c["mentions"], c["recv_opt"], c["marks"])
            if unread > before:
                seen.rises.append((cid, before, unread, now))
    elif kind == "total":
        seen.total = data["total"]
    elif data.get("id") == 1:
        seen.conversations = {
            c["id"]: (c["unread"], c["mentions"], c["recv_opt"], c["marks"]) for c in data["conversations"]
        }
    elif data.get("id") == 2:
        seen.total = data["total"]


async def _open(spec: Spec, index: int, seen: Seen, token: str) -> ClientConnection:
    """Connect and wait until the server is ready to push to this connection."""
    ws = await connect(_url(spec, index, seen.uid, token), compression=None, ping_interval=None,
                       open_timeout=CONNECT_TIMEOUT, max_size=1 << 22)  # fmt: skip
    if spec.system == "reddot":
        orjson.loads(await ws.recv())  # welcome: subscribed and loaded
        await ws.send('{"id": 1, "op": "get_conversations", "unread_only": false}')
        if spec.want_total:
            await ws.send('{"id": 2, "op": "get_total"}')
    elif spec.system == "socketio":
        await ws.recv()  # engine.io open packet
        await ws.send("40")
        while not str(await ws.recv()).startswith("40"):
            pass  # the namespace connect reply comes after the room was joined
    else:
        await ws.recv()  # "ready": subscribed
    return ws


async def _read(spec: Spec, ws: ClientConnection, seen: Seen) -> None:
    system = spec.system
    with contextlib.suppress(Exception):
        async for message in ws:
            now = time.time()
            seen.frames += 1
            if system == "reddot":
                _on_reddot(seen, orjson.loads(message), now)
            elif system == "bare":
                seen.latencies.append(now - orjson.loads(message)["t"])
            elif message == "2":
                await ws.send("3")  # engine.io heartbeat
            elif message[:2] == "42":
                seen.latencies.append(now - orjson.loads(message[2:])[1]["t"])


async def _child(spec: Spec, commands: Connection, answers: Connection) -> None:
    seens = [Seen(uid) for uid, _ in spec.users]
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    failed = 0

    async def open_one(i: int) -> ClientConnection | None:
        nonlocal failed
        async with gate:
            try:
                return await _open(spec, i, seens[i], spec.users[i][1])
            except Exception:
                failed += 1
                return None

    sockets = await asyncio.gather(*(open_one(i) for i in range(len(seens))))
    readers = [asyncio.create_task(_read(spec, ws, s)) for ws, s in zip(sockets, seens, strict=True) if ws]
    # Thousands of open connections are long-lived objects: a full collection walking them paused
    # this process for hundreds of ms, and every frame waiting meanwhile counted as server latency.
    quiet_gc()
    answers.send(("ready", len(readers), failed))
    async with paced_gc():
        # A thread reads the blocking pipe: the event loop never touches its file descriptor.
        while (command := await asyncio.to_thread(commands.recv)) != "close":
            if command == "frames":
                answers.send(sum(s.frames for s in seens))
            elif command == "report":
                answers.send(seens)
                for s in seens:
                    s.rises, s.latencies = [], []
    for task in readers:
        task.cancel()
    await asyncio.gather(*(ws.close() for ws in sockets if ws), return_exceptions=True)
    answers.send("closed")


def _child_main(spec: Spec, commands: Connection, answers: Connection) -> None:
    import uvloop

    uvloop.run(_child(spec, commands, answers))


class ClientFleet:
    """Client processes spread over the connections; the parent talks to each over a pipe."""

    def __init__(self, system: str, urls: list[str], users: list[tuple[str, str]], want_total: bool = True) -> None:
        assert system in SYSTEMS, system
        ctx = multiprocessing.get_context("spawn")  # never fork a process that runs an event loop
        count = max(1, -(-len(users) // PER_PROCESS))
        self.pipes: list[tuple[Connection, Connection]] = []  # (commands out, answers in) per process
        self.procs: list[multiprocessing.process.BaseProcess] = []
        for k in range(count):
            command_in, command_out = ctx.Pipe(duplex=False)
            answer_in, answer_out = ctx.Pipe(duplex=False)
            spec = Spec(system, urls, users[k::count], want_total)
            proc = ctx.Process(target=_child_main, args=(spec, command_in, answer_out), daemon=True)
            proc.start()
            self.pipes.append((command_out, answer_in))
            self.procs.append(proc)
        self.connected = self.failed = 0

    def _ask(self, command: str, timeout: float = 120.0) -> list[Any]:
        for out, _ in self.pipes:
            out.send(command)
        return [self._recv(answers, timeout) for _, answers in self.pipes]

    def _recv(self, pipe: Connection, timeout: float) -> Any:
        if not pipe.poll(timeout):
            raise TimeoutError("a client process did not answer")
        return pipe.recv()

    def wait_ready(self, timeout: float = 300.0) -> None:
        """Block until every process opened its connections; counts land in connected/failed."""
        for _, answers in self.pipes:
            _, ok, bad = self._recv(answers, timeout)
            self.connected += ok
            self.failed += bad

    def frames(self) -> int:
        """Frames received so far by every connection."""
        return sum(self._ask("frames"))

    def report(self) -> list[Seen]:
        """Every connection's latest values and its rises/latencies since the last report (then cleared)."""
        return [seen for part in self._ask("report") for seen in part]

    def close(self) -> None:
        """Close the connections, then end the processes (killed if they linger)."""
        with contextlib.suppress(Exception):
            self._ask("close", timeout=30)
        for proc in self.procs:
            proc.join(5)
            if proc.is_alive():
                proc.kill()
                proc.join(5)
