"""What the state machine (support.machine) draws: its pools and limits, the specs of its operations
(turned into real arguments by support.machine_harness), and their strategies."""

from __future__ import annotations

from typing import Any, NamedTuple

from hypothesis import strategies as st

from counters import Filter, Limits

# Small pools, so messages, cleans and recalls meet the same conversations often.
USERS = 3
CHATS = 2
POOL = USERS + CHATS  # conversations a user can have: c2c with each user, each group chat
# Small limits, so every cap bites within a few steps: conversation-group errors, a conversation's
# third unread message folds, a user's third recall drops the oldest tombstone, and a fan-out takes
# several function calls (one recipient per call, or two: see PER_CALL) in round trips of two calls.
LIMITS = Limits(
    position_cap=2,
    tombstones=2,
    recipients_per_call=1,
    calls_per_pipeline=2,
    groups_per_user=2,
    conversations_per_group=3,
)
# Recipients per function call, drawn per run: 1 splits every group message for two recipients, 2
# puts two recipients in one call and still splits a recall visiting all three users.
PER_CALL = (1, 2)
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
    """An exact copy of an earlier message (the pick-th, modulo how many were sent), or of an earlier
    recalled one (whose tombstone the cap may have dropped since)."""

    pick: int
    recalled: bool = False


class RecallUnread(NamedTuple):
    """A recall of a message that some user still has unread (`folded`: preferably one folded into an
    overflow), else of an earlier message."""

    pick: int
    folded: bool = False


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
# More messages in one conversation: steps from the highest position sent to it yet.
bursts = st.lists(st.integers(-1, 4), max_size=3)
redeliveries = st.builds(Redeliver, pick, rarely)
messages = st.lists(new_c2c | new_group | redeliveries, min_size=1, max_size=3)
recall_unread = st.builds(RecallUnread, pick, st.booleans())
recalls = st.lists(
    recall_unread | st.builds(RecallNext, user_index, user_index, st.none() | chat_index),
    min_size=1,
    max_size=3,
)


def invalid_call(uid: str, cid: str, which: int) -> tuple[str, tuple[Any, ...]]:
    """One of eight invalid calls (`which`, 0-7) as (method, arguments): InvalidArgument on both sides."""
    return [
        ("set_recv_opt", (uid, [cid], 5)),
        ("mark", (uid, [cid], 1 << 4, True)),
        ("mark", (uid, [cid], 0, True)),
        ("set_recv_opt", (uid, [cid] * 101, 1)),
        ("create_conversation_group", (uid, "n" * 33, [cid])),
        ("create_conversation_group", (uid, "tab\there", [cid])),
        ("clean", (uid, "c2c_not valid", 1, 0)),
        ("clean", ("bad}user", cid, 1, 0)),
    ][which]
