"""Random operation sequences against the real server and the reference model, checked after every step."""

from __future__ import annotations

import asyncio
import itertools
import os
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple, TypeVar

import pytest
from hypothesis import Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from redis.asyncio import Redis
from support.events import Subscription
from support.model import Change, Model, canonical_state, change_of, filter_total

from counters import keys
from counters.errors import InvalidArgument, ReddotError
from counters.fanout import Limits
from counters.snapshot import parse_user
from counters.store import Counters
from counters.types import C2CMessage, C2CRecall, Filter, GroupMessage, GroupRecall, Message, Recall, UserState

T = TypeVar("T")

# Small pools, so messages, cleans and recalls meet the same conversations often.
USERS = 3
CHATS = 2
POOL = USERS + CHATS  # conversations a user can have: c2c with each user, each group chat
# Small limits, so the conversation-group error cases happen within a few steps.
LIMITS = Limits(groups_per_user=2, conversations_per_group=3)
GROUP_TYPES = ("Work", "Public", "Community", "Meeting", "AVChatRoom")
NAMES = ("work", "家人", 'say "hi" \\o/', "n:" + "n" * 30)  # every user starts with "work"; the last is 32 bytes
MASKS = (1, 2, 4 | 8, 1 << 32, 1 << 63, (1 << 63) | 1, 0xF | (0xFFFFFFFF << 32))
FILTERS = (
    Filter(),
    Filter(type=1),
    Filter(type=2),
    Filter(mark=1),
    Filter(mark=1 << 63),
    Filter(group="work"),
    Filter(has_mention=True),
    Filter(type=2, mark=2, has_mention=True),
)


class ConvRef(NamedTuple):
    """A conversation: `c2c` with user `index`, group chat `index`, or the user's `index`-th `unread` one
    or `muted` one (recv_opt not 0), when there is one."""

    kind: str
    index: int


class NewC2C(NamedTuple):
    sender: int
    to: int
    timestamp: int
    excluded: bool


class NewGroup(NamedTuple):
    sender: int
    chat: int
    seq: int
    excluded: bool
    at: frozenset[int]
    at_all: bool
    recipients: tuple[int, ...] | None


class Redeliver(NamedTuple):
    """An exact copy of an earlier message (the pick-th, modulo how many were sent)."""

    pick: int


class RecallUnread(NamedTuple):
    """A recall of a message that some user still has unread (else of an earlier message)."""

    pick: int


class RecallNext(NamedTuple):
    """A recall of the next message id to be assigned (never sent yet): C2C sender→to, or group `chat`."""

    sender: int
    to: int
    chat: int | None


Spec = NewC2C | NewGroup | Redeliver
RecallSpec = RecallUnread | RecallNext

user_index = st.integers(0, USERS - 1)
chat_index = st.integers(0, CHATS - 1)
positions = st.integers(1, 8)
pick = st.integers(0, 2**16)
rarely = st.sampled_from((False, False, False, True))
recv_opts = st.sampled_from((0, 0, 1, 2, 3, 4))
user_sets = st.frozensets(user_index)
conv_refs = st.builds(ConvRef, st.sampled_from(("c2c", "group", "unread", "unread", "muted")), st.integers(0, 3))
conv_lists = st.lists(conv_refs, max_size=3)
# Conversation-group lists: mostly within the limit, sometimes over it (InvalidArgument).
group_lists = st.one_of(conv_lists, st.lists(conv_refs, min_size=4, max_size=4))
names = st.sampled_from(("work", *NAMES))
new_c2c = st.builds(NewC2C, user_index, user_index, positions, rarely)
new_group = st.builds(
    NewGroup,
    user_index,
    chat_index,
    positions,
    rarely,
    user_sets,
    rarely,
    st.one_of(st.none(), st.none(), st.lists(user_index, max_size=3).map(tuple)),
)
messages = st.lists(new_c2c | new_group | st.builds(Redeliver, pick), min_size=1, max_size=3)
recalls = st.lists(
    st.builds(RecallUnread, pick) | st.builds(RecallNext, user_index, user_index, st.none() | chat_index),
    min_size=1,
    max_size=2,
)


class Observed(NamedTuple):
    states: dict[str, UserState]
    published: dict[str, list[Change]]


def outcome(call: Callable[[], T]) -> tuple[str, object]:
    """A call's result, or the class of the reddot error it raised: what the two sides must agree on."""
    try:
        return ("ok", call())
    except ReddotError as error:
        return ("error", type(error))


class CountingMachine(RuleBasedStateMachine):
    """The counters API on a real server and the model, fed the same operations."""

    def __init__(self, url: str) -> None:
        super().__init__()
        run = uuid.uuid4().hex[:10]
        self.users = [f"u{i}-{run}" for i in range(USERS)]
        self.chats = [f"g{i}-{run}" for i in range(CHATS)]
        self.model = Model(LIMITS)
        self.serial = itertools.count()
        self.next_id = f"m{next(self.serial)}"
        self.sent: list[Message] = []
        self.reads: dict[tuple[str, str], int] = {}
        self.observed: Observed | None = None
        self.runner = asyncio.Runner()
        self.client = Redis.from_url(url, decode_responses=True)
        self.counters = Counters(self.client, LIMITS)
        self.events = Subscription(self.client, self.users)
        self.run(self.events.__aenter__())

    def teardown(self) -> None:
        self.run(self.events.__aexit__(None, None, None))
        self.run(self.client.aclose())
        self.runner.close()

    def run(self, awaitable: Awaitable[T]) -> T:
        return self.runner.run(awaitable)  # type: ignore[arg-type]

    def both(self, name: str, *args: Any) -> tuple[str, Any]:
        """Call `name` on the model and on the real API: both must return the same or raise the same."""
        self.observed = None
        expected = outcome(lambda: getattr(self.model, name)(*args))
        actual = outcome(lambda: self.run(getattr(self.counters, name)(*args)))
        assert expected == actual, f"{name}{args}"
        return actual

    # --- building arguments from the drawn specs ------------------------------------------

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
            if self.sent:
                return self.sent[spec.pick % len(self.sent)]
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
        unread = {mid for user in self.model.users.values() for c in user.convs.values() for mid in c.unread}
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

    # --- rules -----------------------------------------------------------------------

    @initialize(
        kinds=st.lists(st.sampled_from((*GROUP_TYPES, "Work", None)), min_size=CHATS, max_size=CHATS),
        members=st.lists(st.frozensets(user_index, min_size=2), min_size=CHATS, max_size=CHATS),
        work=st.lists(conv_lists, min_size=USERS, max_size=USERS),
        opts=st.lists(st.lists(recv_opts, min_size=POOL, max_size=POOL), min_size=USERS, max_size=USERS),
    )
    def start(
        self, kinds: list[str | None], members: list[frozenset[int]], work: list[list[ConvRef]], opts: list[list[int]]
    ) -> None:
        """Group chats (some absent); for every user a "work" conversation group and receive options."""
        for chat, kind, who in zip(range(CHATS), kinds, members, strict=True):
            if kind is not None:
                self.put_group(chat, kind, who)
        pool = [ConvRef("c2c", i) for i in range(USERS)] + [ConvRef("group", i) for i in range(CHATS)]
        for user, (refs, user_opts) in enumerate(zip(work, opts, strict=True)):
            self.create_conversation_group(user, "work", refs)
            for opt in sorted(set(user_opts) - {0}):
                self.set_recv_opt(user, [ref for ref, o in zip(pool, user_opts, strict=True) if o == opt], opt)

    @rule(batch=messages)
    def ingest(self, batch: list[Spec]) -> None:
        msgs = [self.message(spec) for spec in batch]
        if self.both("ingest", msgs)[0] == "ok":
            self.sent.extend(m for m in msgs if m not in self.sent)

    @rule(spec=new_c2c)
    def ingest_c2c(self, spec: NewC2C) -> None:
        self.ingest([spec])

    @rule(spec=new_group)
    def ingest_group(self, spec: NewGroup) -> None:
        self.ingest([spec])

    @rule(picks=st.lists(pick, min_size=1, max_size=2))
    def redeliver(self, picks: list[int]) -> None:
        self.ingest([Redeliver(p) for p in picks])

    @rule(batch=recalls)
    def recall(self, batch: list[RecallSpec]) -> None:
        self.both("recall", [self.recall_of(spec) for spec in batch])

    @rule(chat=chat_index, kind=st.sampled_from(GROUP_TYPES), members=user_sets)
    def put_group(self, chat: int, kind: str, members: frozenset[int]) -> None:
        """Create or confirm a group chat (Conflict for another type), then add members."""
        if self.both("put_group", self.chats[chat], kind)[0] == "ok":
            self.both("edit_members", self.chats[chat], [self.users[i] for i in sorted(members)], [])

    @rule(chat=chat_index, add=user_sets, remove=user_sets)
    def edit_members(self, chat: int, add: frozenset[int], remove: frozenset[int]) -> None:
        self.both("edit_members", self.chats[chat], [self.users[i] for i in add], [self.users[i] for i in remove])

    @rule(chat=chat_index)
    def delete_group(self, chat: int) -> None:
        self.both("delete_group", self.chats[chat])
        self.both("get_group", self.chats[chat])

    @rule(
        user=user_index,
        ref=conv_refs,
        aim=st.sampled_from(("zero", "at", "below", "above", "any")),
        choice=pick,
        other=st.integers(0, 9),
        anywhere=positions,
    )
    def clean(self, user: int, ref: ConvRef, aim: str, choice: int, other: int, anywhere: int) -> None:
        uid, cid = self.users[user], self.conv(user, ref)
        known = self.positions_in(uid, cid)
        base = known[choice % len(known)] if known else anywhere
        position = {"zero": 0, "at": base, "below": base - 1, "above": base + 1, "any": anywhere}[aim]
        # The argument that does not apply to the conversation's type is noise the clean must ignore.
        timestamp, sequence = (position, other) if cid.startswith("c2c_") else (other, position)
        self.both("clean", uid, cid, timestamp, sequence)

    @rule(user=user_index, which=st.sampled_from(("c2c", "group", "")), timestamp=positions, sequence=positions)
    def clean_bulk(self, user: int, which: str, timestamp: int, sequence: int) -> None:
        self.both("clean", self.users[user], which, timestamp, sequence)

    @rule(user=user_index, refs=conv_lists, recv_opt=recv_opts)
    def set_recv_opt(self, user: int, refs: list[ConvRef], recv_opt: int) -> None:
        self.both("set_recv_opt", self.users[user], self.convs(user, refs), recv_opt)

    @rule(user=user_index, index=st.integers(0, 3), recv_opt=recv_opts)
    def set_recv_opt_of_unread(self, user: int, index: int, recv_opt: int) -> None:
        """Move a conversation with unread messages in or out of the total (the interesting case)."""
        self.set_recv_opt(user, [ConvRef("unread", index)], recv_opt)

    @rule(user=user_index, refs=conv_lists, mark=st.sampled_from(MASKS), enable=st.booleans())
    def mark(self, user: int, refs: list[ConvRef], mark: int, enable: bool) -> None:
        self.both("mark", self.users[user], self.convs(user, refs), mark, enable)

    @rule(user=user_index, name=names, refs=group_lists)
    def create_conversation_group(self, user: int, name: str, refs: list[ConvRef]) -> None:
        self.both("create_conversation_group", self.users[user], name, self.convs(user, refs))

    @rule(user=user_index, name=names)
    def delete_conversation_group(self, user: int, name: str) -> None:
        self.both("delete_conversation_group", self.users[user], name)

    @rule(user=user_index, name=names, new_name=names)
    def rename_conversation_group(self, user: int, name: str, new_name: str) -> None:
        self.both("rename_conversation_group", self.users[user], name, new_name)

    @rule(user=user_index, name=names, add=group_lists, remove=conv_lists)
    def edit_conversation_group(self, user: int, name: str, add: list[ConvRef], remove: list[ConvRef]) -> None:
        self.both("edit_conversation_group", self.users[user], name, self.convs(user, add), self.convs(user, remove))

    @rule(user=user_index, flt=st.sampled_from(FILTERS))
    def read_api(self, user: int, flt: Filter) -> None:
        """The read calls of the API answer as the model does."""
        uid = self.users[user]
        self.both("total", uid)
        self.both("filter_total", uid, flt)
        self.both("conversation_groups", uid)

    @rule(user=user_index, call=st.integers(0, 7))
    def invalid_call(self, user: int, call: int) -> None:
        """An invalid input is InvalidArgument on both sides and changes nothing (the invariants check that)."""
        uid, cid = self.users[user], f"c2c_{self.users[(user + 1) % USERS]}"
        name, args = [
            ("set_recv_opt", (uid, [cid], 5)),
            ("mark", (uid, [cid], 1 << 4, True)),
            ("mark", (uid, [cid], 0, True)),
            ("set_recv_opt", (uid, [cid] * 101, 1)),
            ("create_conversation_group", (uid, "n" * 33, [cid])),
            ("create_conversation_group", (uid, "tab\there", [cid])),
            ("clean", (uid, "c2c_not valid", 1, 0)),
            ("clean", ("bad}user", cid, 1, 0)),
        ][call]
        assert ("error", InvalidArgument) == self.both(name, *args)

    # --- invariants ------------------------------------------------------------------

    def observe(self) -> Observed:
        """Every user's state and the events published since the last look, read once per step."""
        if self.observed is None:
            self.observed = self.run(self.read())
        return self.observed

    async def read(self) -> Observed:
        pipe = self.client.pipeline(transaction=False)
        for uid in self.users:
            pipe.hgetall(keys.user(uid))
        states = {uid: parse_user(fields) for uid, fields in zip(self.users, await pipe.execute(), strict=True)}
        events = await self.events.take()
        return Observed(states, {uid: [change_of(e) for e in evs] for uid, evs in events.items()})

    @invariant()
    def states_equal_the_model(self) -> None:
        """Every user's snapshot (counts, settings, read positions, ver, total) and filter totals."""
        for uid, state in self.observe().states.items():
            expected = self.model.snapshot(uid)
            assert expected == canonical_state(state), uid
            for flt in FILTERS:
                assert filter_total(expected, flt) == state.filter_total(flt), flt

    @invariant()
    def totals_are_sums_of_unread(self) -> None:
        for state in self.observe().states.values():
            assert sum(c.unread for c in state.conversations.values() if c.recv_opt == 0) == state.total
            assert all(c.unread >= 0 and c.mentions >= 0 for c in state.conversations.values())

    @invariant()
    def read_positions_never_decrease(self) -> None:
        for uid, state in self.observe().states.items():
            for cid, conv in state.conversations.items():
                assert conv.read >= self.reads.get((uid, cid), 0), f"read position of {cid} went back"
                self.reads[uid, cid] = conv.read

    @invariant()
    def events_equal_the_model(self) -> None:
        """Exactly one event per state change, in ver order, with the new absolute values."""
        published = self.observe().published
        for uid in self.users:
            assert self.model.take_changes(uid) == published.pop(uid, []), uid


async def load_library(url: str) -> None:
    async with Redis.from_url(url) as client:
        await Counters(client).start()


class TestStateMachine:
    # A passing run takes well under the suite's 120 s; a failing one is shrunk against the real
    # server first, which Hypothesis caps at 300 s: the minimal failing sequence is worth the wait.
    @pytest.mark.timeout(600)
    def test_random_operations_agree_with_the_model(self, redis_url: str) -> None:
        """Any sequence of operations leaves every user's counts, totals and events equal to the model's."""
        asyncio.run(load_library(redis_url))
        run_state_machine_as_test(
            lambda: CountingMachine(redis_url),
            settings=settings(
                max_examples=int(os.environ.get("REDDOT_STATE_MACHINE_EXAMPLES", "300")),
                stateful_step_count=30,
                deadline=None,
                report_multiple_bugs=False,
                # Explaining a failure replays every step many times more: minutes against a real server.
                phases=[phase for phase in Phase if phase is not Phase.explain],
            ),
        )
