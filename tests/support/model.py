"""A plain-Python reference model of the counting rules (docs/counting.md): no Redis, no shortcuts.

`Model` mirrors the `counters.store.Counters` API: same arguments, same return values, same
exception classes, and it changes nothing when it raises. It also records the change events a
correct implementation publishes (`Change`: new ver, new total, the changed conversations), so
tests can compare what Redis published with what the rules say.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from counters.errors import Conflict, InvalidArgument, NotFound, ResourceExhausted
from counters.fanout import Limits
from counters.snapshot import Event
from counters.store import GroupChat
from counters.types import (
    C2CMessage,
    C2CRecall,
    Conversation,
    Filter,
    GroupMessage,
    GroupRecall,
    Message,
    Recall,
    UserState,
)

# docs/protocol.md §1, written out again so the model does not borrow the implementation's checks.
COUNTING_TYPES = frozenset({"Work", "Public", "Community"})
ALL_TYPES = COUNTING_TYPES | {"Meeting", "AVChatRoom"}
POSITION_END = 2**53
MARK_BITS = 0xF | (0xFFFFFFFF << 32)
BULK = ("c2c", "group", "")
MAX_BULK = 100
_ID = re.compile(r"[A-Za-z0-9_.@#\-]{1,64}")
_CONV = re.compile(r"(?:c2c|group)_[A-Za-z0-9_.@#\-]{1,64}")


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


@dataclass
class Conv:
    """One conversation of one user."""

    unread: dict[str, tuple[int, bool]] = field(default_factory=dict)  # id -> (position, mentions the user)
    read: int = 0
    recv_opt: int = 0
    marks: int = 0
    folded: int = 0  # unread messages folded out of the exact set by the position cap
    folded_high: int = 0  # highest position among them (0 while nothing is folded)
    folded_mentions: int = 0

    @property
    def count(self) -> int:
        return len(self.unread) + self.folded

    @property
    def mentions(self) -> int:
        return sum(1 for _, mentioned in self.unread.values() if mentioned) + self.folded_mentions

    def top(self) -> int:
        """The highest position among the unread messages, folded ones included (0: nothing unread)."""
        return max([pos for pos, _ in self.unread.values()] + [self.folded_high])


@dataclass
class User:
    """One user: conversations, conversation groups, recall tombstones, published changes."""

    ver: int = 0
    convs: dict[str, Conv] = field(default_factory=dict)
    groups: dict[str, set[str]] = field(default_factory=dict)  # conversation-group name -> conversations
    tombstones: set[tuple[str, str]] = field(default_factory=set)  # (conversation, message id)
    changes: list[Change] = field(default_factory=list)

    def conv(self, cid: str) -> Conv:
        return self.convs.setdefault(cid, Conv())

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


class Model:
    """The counting rules over plain dicts, with the Counters API."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self.users: dict[str, User] = {}
        self.chats: dict[str, Chat] = {}

    def user(self, uid: str) -> User:
        return self.users.setdefault(uid, User())

    def take_changes(self, uid: str) -> list[Change]:
        """The changes of a user since the last call."""
        user = self.user(uid)
        changes, user.changes = user.changes, []
        return changes

    # --- the IM backend's side -------------------------------------------------------

    def ingest(self, messages: Sequence[Message]) -> list[int]:
        for msg in messages:
            _message(msg)
        self._require_chats(m.group for m in messages if isinstance(m, GroupMessage))
        for msg in messages:
            if isinstance(msg, GroupMessage) and msg.recipients:
                self.chats[msg.group].reached.update(msg.recipients)
        return [self._count(msg) for msg in messages]

    def recall(self, recalls: Sequence[Recall]) -> list[int]:
        for rc in recalls:
            _recall(rc)
        self._require_chats(r.group for r in recalls if isinstance(r, GroupRecall))
        return [self._recall_one(rc) for rc in recalls]

    def put_group(self, gid: str, kind: str) -> GroupChat:
        _user_id(gid)
        if kind not in ALL_TYPES:
            raise InvalidArgument(f"bad group type {kind!r}")
        chat = self.chats.get(gid)
        if chat is not None and chat.type != kind:
            raise Conflict(f"group {gid} is {chat.type}")
        chat = self.chats.setdefault(gid, Chat(kind))
        return GroupChat(gid, chat.type, len(chat.members))

    def edit_members(self, gid: str, add: Sequence[str], remove: Sequence[str]) -> GroupChat:
        for uid in (gid, *add, *remove):
            _user_id(uid)
        chat = self._chat(gid)
        chat.members.update(add)
        chat.reached.update(add)
        chat.members.difference_update(remove)
        return GroupChat(gid, chat.type, len(chat.members))

    def get_group(self, gid: str) -> GroupChat:
        _user_id(gid)
        chat = self._chat(gid)
        return GroupChat(gid, chat.type, len(chat.members))

    def delete_group(self, gid: str) -> None:
        _user_id(gid)
        self._chat(gid)
        del self.chats[gid]

    # --- the user's side ---------------------------------------------------------------

    def clean(self, uid: str, conversation: str, timestamp: int = 0, sequence: int = 0) -> tuple[int, int]:
        _user_id(uid)
        _integer(timestamp, 0)
        _integer(sequence, 0)
        user = self.user(uid)
        if conversation in BULK:
            cids = [cid for cid, c in user.convs.items() if c.count > 0 and conversation in ("", cid.split("_", 1)[0])]
            # The server cleans one scanned slice of the user hash per call and event; the
            # users here are small enough for one slice.
            return self._clean(user, [(cid, 0) for cid in cids]), user.ver
        _conversation(conversation)
        position = timestamp if conversation.startswith("c2c_") else sequence
        return self._clean(user, [(conversation, position)]), user.ver

    def set_recv_opt(self, uid: str, conversations: Sequence[str], recv_opt: int) -> int:
        _user_id(uid)
        cids = _conversations(conversations, MAX_BULK)
        _integer(recv_opt, 0, 5)
        user = self.user(uid)
        changed = [cid for cid in cids if user.conv(cid).recv_opt != recv_opt]
        for cid in changed:
            user.conv(cid).recv_opt = recv_opt
        return user.commit(changed) if changed else user.ver

    def mark(self, uid: str, conversations: Sequence[str], mark: int, enable: bool) -> int:
        _user_id(uid)
        cids = _conversations(conversations, MAX_BULK)
        _integer(mark, 1, 2**64)
        if mark & ~MARK_BITS:
            raise InvalidArgument("mark holds reserved bits")
        if not isinstance(enable, bool):
            raise InvalidArgument("enable must be a bool")
        user = self.user(uid)
        changed = []
        for cid in cids:
            c = user.conv(cid)
            new = c.marks | mark if enable else c.marks & ~mark
            if new != c.marks:
                c.marks = new
                changed.append(cid)
        return user.commit(changed) if changed else user.ver

    def create_conversation_group(self, uid: str, name: str, conversations: Sequence[str]) -> int:
        _user_id(uid)
        _name(name)
        cids = _conversations(conversations, self.limits.conversations_per_group)
        user = self.user(uid)
        if name in user.groups:
            raise Conflict(f"{name!r} exists")
        if len(user.groups) >= self.limits.groups_per_user:
            raise ResourceExhausted("too many conversation groups")
        user.groups[name] = set(cids)
        return user.commit(cids, [name])

    def delete_conversation_group(self, uid: str, name: str) -> int:
        _user_id(uid)
        _name(name)
        user = self.user(uid)
        if name not in user.groups:
            raise NotFound(f"{name!r} does not exist")
        cids = user.groups.pop(name)
        return user.commit(cids, [name])

    def rename_conversation_group(self, uid: str, name: str, new_name: str) -> int:
        _user_id(uid)
        _name(name)
        _name(new_name)
        user = self.user(uid)
        if name not in user.groups:
            raise NotFound(f"{name!r} does not exist")
        if new_name in user.groups:  # taken, or the same name
            raise Conflict(f"{new_name!r} exists")
        user.groups[new_name] = user.groups.pop(name)
        return user.commit(user.groups[new_name], [name, new_name])

    def edit_conversation_group(self, uid: str, name: str, add: Sequence[str] = (), remove: Sequence[str] = ()) -> int:
        """One atomic change: the group becomes (old − remove) ∪ add."""
        _user_id(uid)
        _name(name)
        adds = _conversations(list(add), self.limits.conversations_per_group)
        removes = _conversations(list(remove), self.limits.conversations_per_group)
        user = self.user(uid)
        if name not in user.groups:
            raise NotFound(f"{name!r} does not exist")
        old = user.groups[name]
        new = (old - set(removes)) | set(adds)
        if len(new) > self.limits.conversations_per_group:
            raise ResourceExhausted("conversation group full")
        if new == old:
            return user.ver
        user.groups[name] = new
        return user.commit(sorted(old ^ new), [name])

    # --- reads ---------------------------------------------------------------------

    def snapshot(self, uid: str) -> UserState:
        _user_id(uid)
        user = self.user(uid)
        views = (user.view(cid) for cid in sorted({*user.convs, *(c for g in user.groups.values() for c in g)}))
        convs = {v.id: v for v in views if v.unread or v.mentions or v.recv_opt or v.marks or v.groups or v.read}
        groups = {name: len(cids) for name, cids in user.groups.items()}
        return UserState(ver=user.ver, total=user.total, conversations=convs, groups=groups)

    def total(self, uid: str) -> tuple[int, int]:
        _user_id(uid)
        user = self.user(uid)
        return user.total, user.ver

    def filter_total(self, uid: str, flt: Filter) -> tuple[int, int]:
        state = self.snapshot(uid)
        return filter_total(state, flt), state.ver

    def conversation_groups(self, uid: str) -> list[str]:
        _user_id(uid)
        return sorted(self.user(uid).groups)

    # --- the rules -------------------------------------------------------------------

    def _count(self, msg: Message) -> int:
        if msg.excluded:
            return 0
        if isinstance(msg, C2CMessage):
            if msg.sender == msg.to:
                return 0
            return self._deliver(msg.to, f"c2c_{msg.sender}", msg.id, msg.timestamp, False)
        chat = self.chats[msg.group]
        if chat.type not in COUNTING_TYPES:
            return 0
        users = set(msg.recipients) if msg.recipients is not None else set(chat.members)
        users.discard(msg.sender)
        cid = f"group_{msg.group}"
        return sum(self._deliver(u, cid, msg.id, msg.seq, msg.at_all or u in msg.at) for u in sorted(users))

    def _deliver(self, uid: str, cid: str, mid: str, position: int, mentioned: bool) -> int:
        user = self.user(uid)
        c = user.conv(cid)
        if c.recv_opt == 1 or (c.recv_opt == 4 and not mentioned):
            return 0
        if position <= c.read or position <= c.folded_high or (cid, mid) in user.tombstones or mid in c.unread:
            return 0
        c.unread[mid] = (position, mentioned)
        while len(c.unread) > self.limits.position_cap:
            oldest = min(c.unread, key=lambda m: (c.unread[m][0], m))
            pos, folded_mention = c.unread.pop(oldest)
            c.folded += 1
            c.folded_high = max(c.folded_high, pos)
            c.folded_mentions += folded_mention
        user.commit([cid])
        return 1

    def _recall_one(self, rc: Recall) -> int:
        if isinstance(rc, C2CRecall):
            users, cid = [rc.to], f"c2c_{rc.sender}"
        else:
            users, cid = sorted(self.chats[rc.group].reached), f"group_{rc.group}"
        recalled = 0
        for uid in users:
            user = self.user(uid)
            user.tombstones.add((cid, rc.id))
            c = user.convs.get(cid)
            if c is not None and rc.id in c.unread:
                del c.unread[rc.id]
                user.commit([cid])
                recalled += 1
        return recalled

    def _clean(self, user: User, targets: list[tuple[str, int]]) -> int:
        """One clean call over some conversations; returns the messages removed."""
        cleaned, changed = 0, []
        for cid, position in targets:
            c = user.convs.get(cid, Conv())
            if position == 0:
                position = c.top()
            if position <= c.read:
                continue
            c = user.conv(cid)
            gone = [mid for mid, (pos, _) in c.unread.items() if pos <= position]
            for mid in gone:
                del c.unread[mid]
            cleaned += len(gone)
            if c.folded and c.folded_high <= position:
                cleaned += c.folded
                c.folded = c.folded_high = c.folded_mentions = 0
            c.read = position
            changed.append(cid)
        if changed:
            user.commit(changed)
        return cleaned

    def _chat(self, gid: str) -> Chat:
        if gid not in self.chats:
            raise NotFound(f"group {gid} does not exist")
        return self.chats[gid]

    def _require_chats(self, gids: Iterable[str]) -> None:
        for gid in gids:
            self._chat(gid)


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


# --- validation (docs/protocol.md §1) ------------------------------------------------------------


def _user_id(value: object) -> None:
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise InvalidArgument(f"bad ID {value!r}")


def _conversation(value: object) -> None:
    if not isinstance(value, str) or not _CONV.fullmatch(value):
        raise InvalidArgument(f"bad conversation {value!r}")


def _conversations(values: object, limit: int) -> list[str]:
    if not isinstance(values, list) or len(values) > limit:
        raise InvalidArgument(f"at most {limit} conversations")
    for value in values:
        _conversation(value)
    return list(dict.fromkeys(values))


def _integer(value: object, low: int, high: int = POSITION_END) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value < high:
        raise InvalidArgument(f"{value!r} is not an integer in [{low}, {high})")


def _text(value: object, limit: int) -> bool:
    return (
        isinstance(value, str) and 0 < len(value) <= limit and not any(unicodedata.category(ch) == "Cc" for ch in value)
    )


def _name(value: object) -> None:
    if not _text(value, 32) or len(str(value).encode()) > 32:
        raise InvalidArgument(f"bad conversation-group name {value!r}")


def _message(msg: object) -> None:
    if not isinstance(msg, C2CMessage | GroupMessage):
        raise InvalidArgument("not a message")
    if not _text(msg.id, 128):
        raise InvalidArgument(f"bad message id {msg.id!r}")
    _user_id(msg.sender)
    _integer(msg.timestamp, 0)
    if isinstance(msg, C2CMessage):
        _user_id(msg.to)
        return
    _user_id(msg.group)
    _integer(msg.seq, 1)
    for uid in (*msg.at, *(msg.recipients or ())):
        _user_id(uid)


def _recall(rc: object) -> None:
    if not isinstance(rc, C2CRecall | GroupRecall):
        raise InvalidArgument("not a recall")
    if not _text(rc.id, 128):
        raise InvalidArgument(f"bad message id {rc.id!r}")
    for uid in (rc.sender, rc.to) if isinstance(rc, C2CRecall) else (rc.group,):
        _user_id(uid)
