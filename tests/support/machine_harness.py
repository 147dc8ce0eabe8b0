"""The harness of the state machine (support.machine, run by tests/counters/test_state_machine.py): a
real server and the reference model side by side, the drawn specs turned into real arguments, and
the tally (`SEEN`) of the rarer rules and fan-out shapes reached."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from hypothesis import event
from hypothesis.errors import InvalidArgument
from hypothesis.stateful import RuleBasedStateMachine
from redis.asyncio import Redis

from counters import C2CMessage, C2CRecall, Counters, GroupMessage, GroupRecall, Limits, Message, Recall, ReddotError
from support.events import Subscription
from support.machine_calls import Calls, Observed, observe
from support.machine_specs import CHATS, LIMITS, USERS, ConvRef, NewC2C, RecallNext, RecallSpec, Redeliver, Spec
from support.model import Model
from support.model_state import tombstone

T = TypeVar("T")

SEEN: Counter[str] = Counter()  # labels noted across the whole run, every example included
# A recall's tombstones are scored by the server's clock in ms. Recall calls this far apart never share
# a millisecond, so the server orders tombstones as the model's one tick per call does.
RECALL_GAP = 0.002


def outcome(call: Callable[[], T]) -> tuple[str, object]:
    """A call's result, or the class of the reddot error it raised: what the two sides must agree on."""
    try:
        return ("ok", call())
    except ReddotError as error:
        return ("error", type(error))


def member(item: Recall | Message) -> str:
    """The tombstone a recall leaves for each user it visits (or the one a message's recall leaves)."""
    if isinstance(item, C2CRecall | C2CMessage):
        return tombstone(f"c2c_{item.sender}", item.id)
    return tombstone(f"group_{item.group}", item.id)


async def load_library(url: str) -> None:
    async with Redis.from_url(url) as client:
        await Counters(client).start()


class Harness(RuleBasedStateMachine):
    """The counters API on a real server and the model, fed the same operations (rules: the subclass)."""

    def __init__(self, url: str) -> None:
        super().__init__()
        run = uuid.uuid4().hex[:10]
        self.users = [f"u{i}-{run}" for i in range(USERS)]
        self.chats = [f"g{i}-{run}" for i in range(CHATS)]
        self.model = Model(LIMITS)
        self.serial = itertools.count()
        self.next_id = f"m{next(self.serial)}"
        self.sent: list[Message] = []
        self.recalled: set[str] = set()
        self.reads: dict[tuple[str, str], int] = {}
        self.observed: Observed | None = None
        self.flushed = False  # FUNCTION FLUSH ran and no function call came since
        self.last_recall = 0.0
        self.runner = asyncio.Runner()
        self.client = Redis.from_url(url, decode_responses=True)
        self.use(LIMITS)
        self.events = Subscription(self.client, self.users)
        self.run(self.events.__aenter__())

    def use(self, limits: Limits) -> None:
        """The counters API with these limits, its function calls recorded."""
        self.counters = Counters(self.client, limits)
        self.calls = Calls(self.counters.library, limits)

    def teardown(self) -> None:
        self.run(self.events.__aexit__(None, None, None))
        self.run(self.client.aclose())
        self.runner.close()

    def run(self, awaitable: Awaitable[T]) -> T:
        return self.runner.run(awaitable)  # type: ignore[arg-type]

    def note(self, label: str, times: int = 1) -> None:
        """Something worth reaching happened: counted in `SEEN`, and a Hypothesis event within a test run."""
        SEEN[label] += times
        with contextlib.suppress(InvalidArgument):  # outside a Hypothesis run (a fixed sequence): no events
            event(label)

    def both(self, name: str, *args: Any) -> tuple[str, Any]:
        """Call `name` on the model and on the real API: both must return the same or raise the same."""
        self.observed = None
        paths = Counter(self.model.paths)
        expected = outcome(lambda: getattr(self.model, name)(*args))
        actual = outcome(lambda: self.run(getattr(self.counters, name)(*args)))
        assert expected == actual, f"{name}{args}"
        trips = self.calls.take()
        for label, times in (self.model.paths - paths).items():
            self.note(label, times)
        if name in ("ingest", "recall"):
            for label in self.calls.fanout_shapes(trips):
                self.note(label)
        if self.flushed and trips:
            self.flushed = False
            assert self.run(self.counters.library.loaded()), f"{name} after FUNCTION FLUSH left no library"
            self.note("a call after FUNCTION FLUSH reloaded the library")
        return actual

    def ingest_all(self, msgs: list[Message]) -> None:
        if self.both("ingest", msgs)[0] == "ok":
            self.sent.extend(m for m in msgs if m not in self.sent)

    def recall_all(self, recalls: list[Recall]) -> None:
        """Recall in tombstone order, apart from the last recall call (RECALL_GAP).

        The server orders one user's tombstones by (recall millisecond, member); in member order the
        recalls of one call leave them in that order whether or not the call straddles a millisecond."""
        wait = self.last_recall + RECALL_GAP - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        batch = sorted(recalls, key=member)
        if self.both("recall", batch)[0] == "ok":
            self.recalled.update(rc.id for rc in batch)
        self.last_recall = time.monotonic()

    def observe(self) -> Observed:
        """Every user's state and the events published since the last look, read once per step."""
        if self.observed is None:
            self.observed = self.run(observe(self.client, self.events, self.users))
        return self.observed

    # --- building arguments from the drawn specs ------------------------------------------

    def under_overflows(self) -> list[tuple[str, str, int, int]]:
        """(user, conversation, read position, X) wherever a clean can land between the read position
        and an overflow's highest folded position X."""
        return [
            (uid, cid, c.read, c.overflow.high)
            for uid in self.users
            for cid, c in sorted(self.model.user(uid).convs.items())
            if c.overflow.high - c.read > 1
        ]

    def conv(self, user: int, ref: ConvRef) -> str:
        if ref.kind in ("unread", "muted"):
            convs = self.model.snapshot(self.users[user]).conversations.values()
            found = sorted(c.id for c in convs if (c.unread if ref.kind == "unread" else c.recv_opt))
            if found:
                return found[ref.index % len(found)]
        if ref.kind == "group":
            return f"group_{self.chats[ref.index % CHATS]}"
        return f"c2c_{self.users[ref.index % USERS]}"

    def convs(self, user: int, refs: list[ConvRef]) -> list[str]:
        return [self.conv(user, ref) for ref in refs]

    def fresh_id(self) -> str:
        mid, self.next_id = self.next_id, f"m{next(self.serial)}"
        return mid

    def message(self, spec: Spec) -> Message:
        if isinstance(spec, Redeliver):
            candidates = self.sent
            if spec.recalled:  # preferably one whose tombstone the cap dropped for some user
                dropped = {key for user in self.model.users.values() for key in user.evicted}
                recalled = [m for m in self.sent if m.id in self.recalled]
                candidates = [m for m in recalled if member(m) in dropped] or recalled or self.sent
            if candidates:
                return candidates[spec.pick % len(candidates)]
            spec = NewC2C(0, 1, 1, False)
        if isinstance(spec, NewC2C):
            sender, to = self.users[spec.sender], self.users[spec.to]
            return C2CMessage(self.fresh_id(), sender, to, spec.timestamp, spec.excluded)
        return GroupMessage(
            self.fresh_id(),
            self.users[spec.sender],
            self.chats[spec.chat],
            spec.seq,
            timestamp=spec.seq * 7,
            excluded=spec.excluded,
            at=frozenset(self.users[i] for i in spec.at),
            at_all=spec.at_all,
            recipients=None if spec.recipients is None else tuple(self.users[i] for i in spec.recipients),
        )

    def recall_of(self, spec: RecallSpec) -> Recall:
        if isinstance(spec, RecallNext):
            if spec.chat is not None:
                return GroupRecall(self.next_id, self.chats[spec.chat])
            return C2CRecall(self.next_id, self.users[spec.sender], self.users[spec.to])
        convs = [c for user in self.model.users.values() for c in user.convs.values()]
        folded = {mid for c in convs for mid in c.folded_ids} if spec.folded else set()
        unread = folded or {mid for c in convs for mid in c.unread}
        candidates = [m for m in self.sent if m.id in unread] or self.sent
        if not candidates:
            return C2CRecall(self.next_id, self.users[0], self.users[1])
        msg = candidates[spec.pick % len(candidates)]
        if isinstance(msg, C2CMessage):
            return C2CRecall(msg.id, msg.sender, msg.to)
        return GroupRecall(msg.id, msg.group)

    def positions_in(self, uid: str, cid: str) -> list[int]:
        """Positions of the messages sent to this conversation (cleans aim at, below and above them)."""
        out = []
        for msg in self.sent:
            if isinstance(msg, C2CMessage) and msg.to == uid and cid == f"c2c_{msg.sender}":
                out.append(msg.timestamp)
            elif isinstance(msg, GroupMessage) and cid == f"group_{msg.group}":
                out.append(msg.seq)
        return out
