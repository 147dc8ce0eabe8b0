"""Plain values that cross the counters API: messages, recalls, filters, user state."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

C2C = 1
GROUP = 2
COUNTING_GROUP_TYPES = frozenset({"Work", "Public", "Community"})
GROUP_TYPES = COUNTING_GROUP_TYPES | {"Meeting", "AVChatRoom"}


@dataclass(frozen=True, slots=True)
class C2CMessage:
    """A one-to-one message: counts for `to`, in conversation `c2c_<from>`."""

    id: str
    sender: str
    to: str
    timestamp: int
    excluded: bool = False


@dataclass(frozen=True, slots=True)
class GroupMessage:
    """A group message at sequence `seq`; `recipients` overrides the stored membership."""

    id: str
    sender: str
    group: str
    seq: int
    timestamp: int = 0
    excluded: bool = False
    at: frozenset[str] = frozenset()
    at_all: bool = False
    recipients: tuple[str, ...] | None = None


Message = C2CMessage | GroupMessage


@dataclass(frozen=True, slots=True)
class C2CRecall:
    """Recall of a one-to-one message."""

    id: str
    sender: str
    to: str


@dataclass(frozen=True, slots=True)
class GroupRecall:
    """Recall of a group message."""

    id: str
    group: str


Recall = C2CRecall | GroupRecall


@dataclass(frozen=True, slots=True)
class Filter:
    """A normalized unread filter: equal values are the same subscription."""

    type: int = 0
    group: str | None = None
    mark: int = 0
    has_mention: bool | None = None

    def as_dict(self) -> dict[str, object]:
        """The filter as docs/protocol.md §2 writes it."""
        return {"type": self.type, "group": self.group, "mark": self.mark, "has_mention": self.has_mention}


class Conversation(NamedTuple):
    """Absolute values of one conversation of one user (a named tuple: a gateway builds one per conversation
    of every event, and a tuple is built three times faster than a frozen dataclass)."""

    id: str
    unread: int = 0
    mentions: int = 0
    recv_opt: int = 0
    marks: int = 0
    groups: tuple[str, ...] = ()
    read: int = 0

    @property
    def type(self) -> int:
        """1 for C2C, 2 for group."""
        return C2C if self.id.startswith("c2c_") else GROUP

    @property
    def empty(self) -> bool:
        """Nothing stored: the snapshot would not list it either."""
        return not (self.unread or self.mentions or self.recv_opt or self.marks or self.groups or self.read)

    def matches(self, flt: Filter) -> bool:
        """Whether this conversation's unread counts toward the filter's total."""
        return (
            self.recv_opt == 0
            and flt.type in (0, self.type)
            and (flt.group is None or flt.group in self.groups)
            and self.marks & flt.mark == flt.mark
            and (not flt.has_mention or self.mentions > 0)
        )

    def as_dict(self) -> dict[str, object]:
        """The conversation as docs/protocol.md §3 pushes it."""
        is_c2c = self.type == C2C
        return {
            "id": self.id,
            "type": self.type,
            "unread": self.unread,
            "mentions": self.mentions,
            "recv_opt": self.recv_opt,
            "marks": self.marks,
            "groups": list(self.groups),
            "read_timestamp": self.read if is_c2c else 0,
            "read_sequence": 0 if is_c2c else self.read,
        }


@dataclass(slots=True)
class UserState:
    """One user's whole state at one `ver`, read atomically."""

    ver: int = 0
    total: int = 0
    conversations: dict[str, Conversation] = field(default_factory=dict)
    groups: dict[str, int] = field(default_factory=dict)
    # The ids of the conversations with unread: filters sum over these alone, since a user can give
    # tens of thousands of conversations marks or settings, and every event recomputes every filter
    # of every connection (60,000 such conversations and 10 x 32 filters stalled a process's loop).
    unread_ids: set[str] = field(default_factory=set, compare=False, repr=False)

    def __post_init__(self) -> None:
        self.unread_ids = {cid for cid, c in self.conversations.items() if c.unread}

    def put(self, conv: Conversation) -> None:
        """Store a conversation's new values (an empty one is dropped, as the snapshot leaves it out)."""
        if conv.empty:
            self.conversations.pop(conv.id, None)
        else:
            self.conversations[conv.id] = conv
        if conv.unread:
            self.unread_ids.add(conv.id)
        else:
            self.unread_ids.discard(conv.id)

    def filter_total(self, flt: Filter) -> int:
        """Sum of unread over the conversations the filter selects."""
        convs = self.conversations
        return sum(c.unread for c in map(convs.__getitem__, self.unread_ids) if c.matches(flt))

    def page(self, unread_only: bool, limit: int, after: str = "") -> tuple[list[dict[str, object]], str | None]:
        """Up to `limit` conversations with an ID above `after`, in ID order, and the last ID if more follow.

        ID order, not unread order: a page boundary then stays put while counts change between pages.
        """
        ids = sorted(cid for cid, c in self.conversations.items() if cid > after and (c.unread or not unread_only))
        shown = ids[:limit]
        return [self.conversations[cid].as_dict() for cid in shown], (shown[-1] if len(ids) > limit else None)

    def listing(self, unread_only: bool = True) -> list[dict[str, object]]:
        """Conversations as the protocol lists them, most unread first then by id."""
        convs = [c for c in self.conversations.values() if c.unread or not unread_only]
        convs.sort(key=lambda c: (-c.unread, c.id))
        return [c.as_dict() for c in convs]
