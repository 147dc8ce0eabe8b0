"""Traffic: the population (users, groups, conversation groups) and a paced mix of operations over HTTP."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import jwt

from loadtest.http import HttpError, HttpPool

KINDS = ("c2c", "group", "clean", "recall", "settings")
MAX_BATCH = 1000  # messages per POST /v1/messages (docs/protocol.md §4)
MAX_IN_FLIGHT = 64  # HTTP requests in flight: past it the pacer waits, and the achieved rate shows it
TICK = 0.01  # seconds between pacing decisions
MEMBERS_PER_CALL = 10_000


def parse_mix(text: str) -> dict[str, float]:
    """`c2c=70,group=20,clean=5` → weights by kind (missing kinds weigh 0)."""
    mix = dict.fromkeys(KINDS, 0.0)
    for part in filter(None, (p.strip() for p in text.split(","))):
        kind, _, weight = part.partition("=")
        if kind not in mix:
            raise ValueError(f"unknown kind {kind!r} in the mix (expected {', '.join(KINDS)})")
        mix[kind] = float(weight or 1)
    if not any(mix.values()) or min(mix.values()) < 0:
        raise ValueError("the mix needs at least one positive weight")
    return mix


@dataclass
class Population:
    """Who exists in one run: online users, group chats and the senders that write to them."""

    users: list[str]
    groups: dict[str, list[str]]
    senders: list[str]  # C2C senders (never online: each gives every user one conversation)
    group_senders: list[str]  # not members, so every member counts every group message

    @classmethod
    def make(cls, users: int, group_sizes: list[int], senders: int = 20, prefix: str = "") -> Population:
        """Fresh IDs (a run never meets an earlier run's state); groups draw members from the users."""
        run = prefix or f"ld{uuid.uuid4().hex[:6]}"
        uids = [f"{run}-u{i}" for i in range(users)]
        rng = random.Random(1)
        groups = {}
        for g, size in enumerate(group_sizes):
            extra = [f"{run}-g{g}-x{i}" for i in range(max(0, size - len(uids)))]  # offline members
            groups[f"{run}-g{g}"] = rng.sample(uids, min(size, len(uids))) + extra
        return cls(uids, groups, [f"{run}-s{i}" for i in range(senders)], [f"{run}-gs{i}" for i in range(4)])

    def tokens(self, secret: str, ttl: int = 3600) -> list[tuple[str, str]]:
        """(userID, HS256 token) of every user."""
        exp = int(time.time()) + ttl
        return [(u, jwt.encode({"sub": u, "exp": exp}, secret, algorithm="HS256")) for u in self.users]


async def setup(pool: HttpPool, pop: Population, conversation_groups: int) -> None:
    """Create the group chats with their members, and a conversation group for the first users."""
    for gid, members in pop.groups.items():
        await pool.request("PUT", f"/v1/groups/{gid}", {"type": "Work"})
        for i in range(0, len(members), MEMBERS_PER_CALL):
            await pool.request("POST", f"/v1/groups/{gid}/members", {"add": members[i : i + MEMBERS_PER_CALL]})
    convs = [f"c2c_{s}" for s in pop.senders[:2]] + [f"group_{g}" for g in list(pop.groups)[:2]]
    await asyncio.gather(*(
        pool.request("POST", f"/v1/users/{u}/conversation-groups", {"name": "work", "conversations": convs})
        for u in pop.users[:conversation_groups]
    ))  # fmt: skip


async def pace(
    rate: float,
    duration: float,
    emit: Callable[[int], Awaitable[None]],
    progress: Callable[[float, int], None] | None = None,
    in_flight: int = MAX_IN_FLIGHT,
) -> int:
    """Call emit(n) so that about `rate` operations per second go out for `duration` seconds.

    emit runs as a task, at most `in_flight` at once; returns the operations issued.
    """
    gate = asyncio.Semaphore(in_flight)
    tasks: set[asyncio.Task[None]] = set()
    errors: list[BaseException] = []

    async def run(n: int) -> None:
        try:
            await emit(n)
        except (HttpError, OSError, TimeoutError) as error:
            errors.append(error)
        finally:
            gate.release()

    start = last_report = time.monotonic()
    issued = 0
    while (elapsed := time.monotonic() - start) < duration:
        due = min(int(rate * elapsed) - issued, max(1, int(rate)))  # never more than a second's worth at once
        if due > 0:
            await gate.acquire()
            issued += due
            task = asyncio.create_task(run(due))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if progress and time.monotonic() - last_report >= 1:
            last_report = time.monotonic()
            progress(elapsed, issued)
        await asyncio.sleep(TICK)
    if tasks:
        await asyncio.wait(tasks, timeout=60)
    if errors:
        raise RuntimeError(f"{len(errors)} requests failed, first: {errors[0]!r}")
    return issued


@dataclass
class Traffic:
    """The mix of operations, and what the latency join needs: when each counted message was sent."""

    pool: HttpPool
    pop: Population
    mix: dict[str, float]
    rng: random.Random = field(default_factory=lambda: random.Random(7))
    sent: dict[tuple[str, str], list[float]] = field(default_factory=dict)  # (user, conv) → C2C send times
    group_sent: dict[str, list[float]] = field(default_factory=dict)  # conv → group message send times
    dirty: set[tuple[str, str]] = field(default_factory=set)  # cleaned or recalled: out of the latency join
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    accepted: int = 0  # messages the API accepted
    updates: int = 0  # recipient updates (sum of `counted`)
    _serial: int = 0
    _recent: deque[tuple[str, str, str]] = field(default_factory=lambda: deque(maxlen=1000))

    async def emit(self, n: int) -> None:
        """Issue n operations drawn from the mix: the messages in one POST, the rest one request each."""
        kinds = self.rng.choices(list(self.mix), weights=list(self.mix.values()), k=n)
        messages, others = [], []
        now = time.time()  # just before the POST: the batch is built in microseconds
        for kind in kinds:
            self.counts[kind] += 1
            if kind in ("c2c", "group"):
                messages.append(self._message(kind, now))
            else:
                others.append(kind)
        for i in range(0, len(messages), MAX_BATCH):
            reply = await self.pool.request("POST", "/v1/messages", {"messages": messages[i : i + MAX_BATCH]})
            self.accepted += len(reply["results"])
            self.updates += sum(r["counted"] for r in reply["results"])
        for kind in others:
            await self._other(kind)

    def _message(self, kind: str, now: float) -> dict[str, object]:
        """One message, its send time logged where the latency join looks for it."""
        self._serial += 1
        mid = f"m{self._serial}"
        if kind == "group" and self.pop.groups:
            gid = self.rng.choice(list(self.pop.groups))
            log = self.group_sent.setdefault(f"group_{gid}", [])
            log.append(now)
            sender = self.rng.choice(self.pop.group_senders)
            return {"id": mid, "from": sender, "group": gid, "seq": len(log), "timestamp": 1}
        to, sender = self.rng.choice(self.pop.users), self.rng.choice(self.pop.senders)
        self._recent.append((mid, sender, to))
        self.sent.setdefault((to, f"c2c_{sender}"), []).append(now)
        return {"id": mid, "from": sender, "to": to, "timestamp": self._serial}

    async def _other(self, kind: str) -> None:
        body: dict[str, object]
        user, sender = self.rng.choice(self.pop.users), self.rng.choice(self.pop.senders)
        conv = f"c2c_{sender}"
        if kind == "clean":
            self.dirty.add((user, conv))
            await self.pool.request("POST", f"/v1/users/{user}/clean", {"conversation": conv})
        elif kind == "recall" and self._recent:
            mid, sender, to = self._recent.pop()
            self.dirty.add((to, f"c2c_{sender}"))
            body = {"messages": [{"id": mid, "from": sender, "to": to}]}
            await self.pool.request("POST", "/v1/messages/recall", body)
        elif kind == "settings":
            if self.rng.random() < 0.5:
                body = {"conversations": [conv], "mark": 1, "enable": self.rng.random() < 0.5}
                await self.pool.request("POST", f"/v1/users/{user}/marks", body)
            else:  # 0 and 2 both count messages: the latency join stays exact
                body = {"conversations": [conv], "recv_opt": self.rng.choice((0, 2))}
                await self.pool.request("POST", f"/v1/users/{user}/recv-opt", body)

    def latencies(self, rises: list[tuple[str, str, int, int, float]]) -> list[float]:
        """Seconds from the POST that made each counted message to the frame that first showed it."""
        out: list[float] = []
        for uid, cid, old, new, at in rises:
            log = self.group_sent.get(cid) if cid.startswith("group_") else self.sent.get((uid, cid))
            if not log or (uid, cid) in self.dirty:
                continue
            out.extend(at - log[k] for k in range(old, min(new, len(log))))
        return out
