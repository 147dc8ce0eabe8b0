"""The state machine that tests/counters/test_state_machine.py runs: the counters API on a real server
and the reference model fed the same random operations, every user's state, overflows, tombstones and
events compared after every step. The plumbing is support.machine_harness; what it draws,
support.machine_specs.
"""

from __future__ import annotations

import dataclasses

from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, precondition, rule

from counters import Filter, InvalidArgument
from support.machine_harness import Harness
from support.machine_specs import (
    CHATS,
    FILTERS,
    GROUP_TYPES,
    LIMITS,
    MASKS,
    PER_CALL,
    POOL,
    USERS,
    ConvRef,
    NewC2C,
    NewGroup,
    RecallSpec,
    Redeliver,
    Spec,
    bursts,
    chat_index,
    conv_lists,
    conv_refs,
    group_lists,
    invalid_call,
    messages,
    names,
    new_c2c,
    new_group,
    pick,
    positions,
    recalls,
    recv_opts,
    user_index,
    user_sets,
)
from support.model import canonical_state, filter_total


class CountingMachine(Harness):
    """The counters API on a real server and the model, fed the same operations."""

    @initialize(
        kinds=st.lists(st.sampled_from((*GROUP_TYPES, "Work", None)), min_size=CHATS, max_size=CHATS),
        members=st.lists(st.frozensets(user_index, min_size=2), min_size=CHATS, max_size=CHATS),
        work=st.lists(conv_lists, min_size=USERS, max_size=USERS),
        opts=st.lists(st.lists(recv_opts, min_size=POOL, max_size=POOL), min_size=USERS, max_size=USERS),
        per_call=st.sampled_from(PER_CALL),
    )
    def start(
        self,
        kinds: list[str | None],
        members: list[frozenset[int]],
        work: list[list[ConvRef]],
        opts: list[list[int]],
        per_call: int,
    ) -> None:
        """Group chats (some absent); for every user a "work" conversation group and receive options."""
        self.use(dataclasses.replace(LIMITS, recipients_per_call=per_call))
        self.note(f"{per_call} recipient(s) per call")
        for chat, kind, who in zip(range(CHATS), kinds, members, strict=True):
            if kind is not None:
                self.put_group(chat, kind, who)
        pool = [ConvRef("c2c", i) for i in range(USERS)] + [ConvRef("group", i) for i in range(CHATS)]
        for user, (refs, user_opts) in enumerate(zip(work, opts, strict=True)):
            self.create_conversation_group(user, "work", refs)
            for opt in sorted(set(user_opts) - {0}):
                self.set_recv_opt(user, [ref for ref, o in zip(pool, user_opts, strict=True) if o == opt], opt)

    # --- rules -----------------------------------------------------------------------

    @rule(batch=messages)
    def ingest(self, batch: list[Spec]) -> None:
        self.ingest_all([self.message(spec) for spec in batch])

    @rule(spec=new_c2c, more=bursts)
    def ingest_c2c(self, spec: NewC2C, more: list[int]) -> None:
        """A message, maybe with more in its conversation around the highest position sent to it yet
        (reads climb past the fixed 1-8): beyond the position cap the lowest fold, some arrive at or below X."""
        top = max(self.positions_in(self.users[spec.to], f"c2c_{self.users[spec.sender]}"), default=0)
        self.ingest([spec, *(spec._replace(timestamp=max(1, top + step)) for step in more)])

    @rule(spec=new_group, more=bursts)
    def ingest_group(self, spec: NewGroup, more: list[int]) -> None:
        top = max(self.positions_in(self.users[0], f"group_{self.chats[spec.chat]}"), default=0)
        self.ingest([spec, *(spec._replace(seq=max(1, top + step)) for step in more)])

    @rule(picks=st.lists(pick, min_size=1, max_size=2))
    def redeliver(self, picks: list[int]) -> None:
        self.ingest([Redeliver(p) for p in picks])

    @rule(picks=st.lists(pick, min_size=1, max_size=2))
    def redeliver_recalled(self, picks: list[int]) -> None:
        """Recalled messages again, preferably ones whose tombstone the cap dropped: those count again."""
        self.ingest([Redeliver(p, recalled=True) for p in picks])

    @rule(batch=recalls)
    def recall(self, batch: list[RecallSpec]) -> None:
        self.recall_all([self.recall_of(spec) for spec in batch])

    @rule(batch=recalls, picks=st.lists(pick, min_size=1, max_size=2))
    def recall_then_redeliver(self, batch: list[RecallSpec], picks: list[int]) -> None:
        """Recalls (three may drop a tombstone of the same call), then recalled messages again."""
        self.recall(batch)
        self.redeliver_recalled(picks)

    @rule(chat=chat_index, kind=st.sampled_from(GROUP_TYPES), members=user_sets)
    def put_group(self, chat: int, kind: str, members: frozenset[int]) -> None:
        """Create or confirm a group chat (Conflict for another type), then add members."""
        if self.both("put_group", self.chats[chat], kind)[0] == "ok":
            self.both("edit_members", self.chats[chat], [self.users[i] for i in sorted(members)], [])
            self.get_group(chat)

    @rule(chat=chat_index, add=user_sets, remove=user_sets)
    def edit_members(self, chat: int, add: frozenset[int], remove: frozenset[int]) -> None:
        self.both("edit_members", self.chats[chat], [self.users[i] for i in add], [self.users[i] for i in remove])
        self.get_group(chat)

    @rule(chat=chat_index)
    def get_group(self, chat: int) -> None:
        """Type and member count, equal to the model's, or NotFound on both sides."""
        if self.both("get_group", self.chats[chat])[0] == "ok":
            self.note("get_group of a live group")

    @rule(chat=chat_index)
    def delete_group(self, chat: int) -> None:
        self.both("delete_group", self.chats[chat])
        self.get_group(chat)

    @rule()
    def flush_functions(self) -> None:
        """FUNCTION FLUSH: the next function call must load the library again and agree with the model."""
        self.run(self.client.function_flush())
        self.flushed = True
        self.note("FUNCTION FLUSH")

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

    @precondition(lambda self: self.under_overflows())
    @rule(choice=pick)
    def clean_under_overflow(self, choice: int) -> None:
        """A clean between the read position and an overflow's X (the documented inexactness: the
        folded messages stay, even those at or below it; the read position moves)."""
        found = self.under_overflows()
        uid, cid, read, high = found[choice % len(found)]
        position = read + 1 + choice % (high - read - 1)
        self.both("clean", uid, cid, position, position)

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
        name, args = invalid_call(uid, cid, call)
        assert ("error", InvalidArgument) == self.both(name, *args)

    # --- invariants ------------------------------------------------------------------

    def check_all(self) -> None:
        """Every invariant (a fixed sequence of rules runs outside Hypothesis)."""
        self.states_equal_the_model()
        self.overflows_and_tombstones_equal_the_model()
        self.totals_are_sums_of_unread()
        self.read_positions_never_decrease()
        self.events_equal_the_model()

    @invariant()
    def states_equal_the_model(self) -> None:
        """Every user's snapshot (counts, settings, read positions, ver, total) and filter totals."""
        for uid, state in self.observe().states.items():
            expected = self.model.snapshot(uid)
            assert expected == canonical_state(state), uid
            for flt in FILTERS:
                assert filter_total(expected, flt) == state.filter_total(flt), flt

    @invariant()
    def overflows_and_tombstones_equal_the_model(self) -> None:
        """The position cap's overflow of every conversation (count, highest position, mentions), and
        every user's tombstones, oldest first: what the caps kept and dropped."""
        observed = self.observe()
        for uid in self.users:
            user = self.model.user(uid)
            overflows = {cid: c.overflow for cid, c in user.convs.items() if c.overflow.count}
            assert overflows == observed.overflows[uid], uid
            kept = sorted(user.tombstones, key=lambda key: (user.tombstones[key], key))
            assert kept == observed.tombstones[uid], uid

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
