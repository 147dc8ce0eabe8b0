"""The reference model's state (docs/counting.md): one user's conversations, with the position cap's
overflow, and recall tombstones; group chats; the change events the rules define.

The two caps are modelled exactly, for any `Limits`:

- Position cap: a conversation keeps at most `position_cap` unread ids; beyond it the lowest
  (position, then id) fold into the overflow: a count, the highest folded position X and the folded
  mentions. Unread and mentions stay exact; the folded ids themselves are gone (the documented
  inexactness: a clean below X keeps them, a recall cannot remove one, a late message at or below X
  does not count).
- Tombstones: each user keeps the newest `tombstones` recalls, by recall time; a recall of an already
  tombstoned message renews it. Recalls at the same time go oldest first in member order
  (`<conv>\\n<id>`), as in the server's zset scored by the recall's millisecond.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from counters import Conversation, Event, Filter, UserState


class Change(NamedTuple):
    """One change event as the rules define it: new ver, new total, changed conversations by id, and
    the new size of each conversation group that changed (None: deleted)."""

    ver: int
    total: int
    conversations: dict[str, Conversation]
    groups: dict[str, int | None]


def canonical(conv: Conversation) -> Conversation:
    """The conversation with its group list sorted (the order of `groups` is not part of the rules)."""
    return conv._replace(groups=tuple(sorted(conv.groups)))


def canonical_state(state: UserState) -> UserState:
    """A snapshot with every conversation's group list sorted."""
    convs = {cid: canonical(c) for cid, c in state.conversations.items()}
    return UserState(ver=state.ver, total=state.total, conversations=convs, groups=dict(state.groups))


def change_of(event: Event) -> Change:
    """A published event as a `Change` (publish time dropped, group lists sorted)."""
    return Change(event.ver, event.total, {c.id: canonical(c) for c in event.conversations}, event.groups or {})


def tombstone(cid: str, mid: str) -> str:
    """A recall tombstone as the data model names it: `<conv>\\n<id>`."""
    return f"{cid}\n{mid}"


class Overflow(NamedTuple):
    """The folded part of a conversation: messages, highest position, mentions (all 0: none)."""

    count: int
    high: int
    mentions: int


NO_OVERFLOW = Overflow(0, 0, 0)


@dataclass
class Conv:
    """One conversation of one user."""

    unread: dict[str, tuple[int, bool]] = field(default_factory=dict)  # kept id -> (position, mentions the user)
    read: int = 0
    recv_opt: int = 0
    marks: int = 0
    overflow: Overflow = NO_OVERFLOW
    # The ids folded away. The server forgets them; the model keeps them only to name the inexact
    # cases (Model.paths), never to decide a count.
    folded_ids: set[str] = field(default_factory=set)

    @property
    def count(self) -> int:
        return len(self.unread) + self.overflow.count

    @property
    def mentions(self) -> int:
        return sum(1 for _, mentioned in self.unread.values() if mentioned) + self.overflow.mentions

    def top(self) -> int:
        """The highest position among the unread messages, folded ones included (0: nothing unread)."""
        return max([pos for pos, _ in self.unread.values()] + [self.overflow.high])

    def add(self, mid: str, position: int, mentioned: bool, cap: int) -> int:
        """Keep a new unread id, then fold the lowest (position, id) beyond the cap; returns how many folded."""
        self.unread[mid] = (position, mentioned)
        folded = 0
        while len(self.unread) > cap:
            oldest = min(self.unread, key=lambda m: (self.unread[m][0], m))
            pos, mention = self.unread.pop(oldest)
            count, high, mentions = self.overflow
            self.overflow = Overflow(count + 1, max(high, pos), mentions + mention)
            self.folded_ids.add(oldest)
            folded += 1
        return folded

    def clean(self, position: int) -> tuple[int, bool]:
        """Remove the unread at or below `position` (the overflow only if X ≤ position), read up to it.

        Returns (messages removed, whether an overflow stayed that holds messages at or below `position`
        for all the model knows: the documented inexactness)."""
        gone = [mid for mid, (pos, _) in self.unread.items() if pos <= position]
        for mid in gone:
            del self.unread[mid]
        removed, kept_below = len(gone), False
        if self.overflow.count and self.overflow.high <= position:
            removed += self.overflow.count
            self.overflow, self.folded_ids = NO_OVERFLOW, set()
        elif self.overflow.count:
            kept_below = True
        self.read = position
        return removed, kept_below


@dataclass
class User:
    """One user: conversations, conversation groups, recall tombstones, published changes."""

    ver: int = 0
    convs: dict[str, Conv] = field(default_factory=dict)
    groups: dict[str, set[str]] = field(default_factory=dict)  # conversation-group name -> conversations
    tombstones: dict[str, int] = field(default_factory=dict)  # tombstone() -> recall time
    evicted: set[str] = field(default_factory=set)  # tombstones dropped by the cap (Model.paths only)
    changes: list[Change] = field(default_factory=list)

    def conv(self, cid: str) -> Conv:
        return self.convs.setdefault(cid, Conv())

    def bury(self, cid: str, mid: str, now: int, keep: int) -> int:
        """Record (or renew) a tombstone, then drop the oldest beyond `keep`; returns how many were dropped."""
        key = tombstone(cid, mid)
        self.tombstones[key] = now
        self.evicted.discard(key)
        dropped = 0
        while len(self.tombstones) > keep:
            oldest = min(self.tombstones, key=lambda k: (self.tombstones[k], k))
            del self.tombstones[oldest]
            self.evicted.add(oldest)
            dropped += 1
        return dropped

    @property
    def total(self) -> int:
        return sum(c.count for c in self.convs.values() if c.recv_opt == 0)

    def view(self, cid: str) -> Conversation:
        c = self.convs.get(cid, Conv())
        return Conversation(
            id=cid,
            unread=c.count,
            mentions=c.mentions,
            recv_opt=c.recv_opt,
            marks=c.marks,
            groups=tuple(sorted(name for name, convs in self.groups.items() if cid in convs)),
            read=c.read,
        )

    def commit(self, cids: Iterable[str], groups: Iterable[str] = ()) -> int:
        """Record one state change: ver + 1 and one event with the changed conversations and groups."""
        self.ver += 1
        sizes = {name: len(self.groups[name]) if name in self.groups else None for name in groups}
        self.changes.append(Change(self.ver, self.total, {cid: self.view(cid) for cid in cids}, sizes))
        return self.ver


@dataclass
class Chat:
    """A group chat: fixed type, current members, and everyone a recall must visit."""

    type: str
    members: set[str] = field(default_factory=set)
    reached: set[str] = field(default_factory=set)


def filter_total(state: UserState, flt: Filter) -> int:
    """The rules' filter total of a state: Σ unread over recv_opt-0 conversations the filter selects."""
    return sum(
        c.unread
        for c in state.conversations.values()
        if c.recv_opt == 0
        and flt.type in (0, 1 if c.id.startswith("c2c_") else 2)
        and (flt.group is None or flt.group in c.groups)
        and c.marks & flt.mark == flt.mark
        and (flt.has_mention is not True or c.mentions > 0)
    )
