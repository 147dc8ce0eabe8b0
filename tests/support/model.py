"""A plain-Python reference model of the counting rules (docs/counting.md): no Redis, no shortcuts.

`Model` mirrors the `counters.Counters` API: same arguments, same return values, same exception
classes, and it changes nothing when it raises. It also records the change events a correct
implementation publishes (`Change`: new ver, new total, the changed conversations), so tests can
compare what Redis published with what the rules say. The state and the two caps (position cap,
tombstones) are in support.model_state, conversation groups in support.model_groups, input checks
in support.model_checks.

`Model.paths` counts the rarer rules taken (folds, the overflow's inexact cases, tombstones dropped
by the cap and what follows), so a random test can show that it reached them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from counters import (
    C2CMessage,
    C2CRecall,
    Conflict,
    Filter,
    GroupMessage,
    GroupRecall,
    InvalidArgument,
    Limits,
    Message,
    NotFound,
    Recall,
    UserState,
)
from counters.store import GroupChat
from support import model_checks as check
from support.model_groups import ConversationGroups
from support.model_state import Change, Chat, Conv, User, canonical_state, change_of, filter_total, tombstone

COUNTING_TYPES = frozenset({"Work", "Public", "Community"})
ALL_TYPES = COUNTING_TYPES | {"Meeting", "AVChatRoom"}
BULK = ("c2c", "group", "")
MAX_BULK = 100

__all__ = ["Change", "Model", "canonical_state", "change_of", "filter_total"]


class Model(ConversationGroups):
    """The counting rules over plain dicts, with the Counters API."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self.users: dict[str, User] = {}
        self.chats: dict[str, Chat] = {}
        self.clock = 0  # recall time: one tick per recall call (tombstones are ordered by it)
        self.paths: Counter[str] = Counter()

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
            check.message(msg)
        self._require_chats(m.group for m in messages if isinstance(m, GroupMessage))
        for msg in messages:
            if isinstance(msg, GroupMessage) and msg.recipients:
                self.chats[msg.group].reached.update(msg.recipients)
        return [self._count(msg) for msg in messages]

    def recall(self, recalls: Sequence[Recall]) -> list[int]:
        """All the recalls of one call happen at one recall time, in order."""
        for rc in recalls:
            check.recall(rc)
        self._require_chats(r.group for r in recalls if isinstance(r, GroupRecall))
        self.clock += 1
        return [self._recall_one(rc) for rc in recalls]

    def put_group(self, gid: str, kind: str) -> GroupChat:
        check.user_id(gid)
        if kind not in ALL_TYPES:
            raise InvalidArgument(f"bad group type {kind!r}")
        chat = self.chats.get(gid)
        if chat is not None and chat.type != kind:
            raise Conflict(f"group {gid} is {chat.type}")
        chat = self.chats.setdefault(gid, Chat(kind))
        return GroupChat(gid, chat.type, len(chat.members))

    def edit_members(self, gid: str, add: Sequence[str], remove: Sequence[str]) -> GroupChat:
        for uid in (gid, *add, *remove):
            check.user_id(uid)
        chat = self._chat(gid)
        chat.members.update(add)
        chat.reached.update(add)
        chat.members.difference_update(remove)
        return GroupChat(gid, chat.type, len(chat.members))

    def get_group(self, gid: str) -> GroupChat:
        check.user_id(gid)
        chat = self._chat(gid)
        return GroupChat(gid, chat.type, len(chat.members))

    def delete_group(self, gid: str) -> None:
        check.user_id(gid)
        self._chat(gid)
        del self.chats[gid]

    # --- the user's side ---------------------------------------------------------------

    def clean(self, uid: str, conversation: str, timestamp: int = 0, sequence: int = 0) -> tuple[int, int]:
        check.user_id(uid)
        check.integer(timestamp, 0)
        check.integer(sequence, 0)
        user = self.user(uid)
        if conversation in BULK:
            cids = [cid for cid, c in user.convs.items() if c.count > 0 and conversation in ("", cid.split("_", 1)[0])]
            # The server cleans one scanned slice of the user hash per call and event; the
            # users here are small enough for one slice.
            return self._clean(user, [(cid, 0) for cid in cids]), user.ver
        check.conversation(conversation)
        position = timestamp if conversation.startswith("c2c_") else sequence
        return self._clean(user, [(conversation, position)]), user.ver

    def set_recv_opt(self, uid: str, conversations: Sequence[str], recv_opt: int) -> int:
        check.user_id(uid)
        cids = check.conversations(conversations, MAX_BULK)
        check.integer(recv_opt, 0, 5)
        user = self.user(uid)
        changed = [cid for cid in cids if user.conv(cid).recv_opt != recv_opt]
        for cid in changed:
            user.conv(cid).recv_opt = recv_opt
        return user.commit(changed) if changed else user.ver

    def mark(self, uid: str, conversations: Sequence[str], mark: int, enable: bool) -> int:
        check.user_id(uid)
        cids = check.conversations(conversations, MAX_BULK)
        check.mark(mark)
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

    # --- reads ---------------------------------------------------------------------

    def snapshot(self, uid: str) -> UserState:
        check.user_id(uid)
        user = self.user(uid)
        views = (user.view(cid) for cid in sorted({*user.convs, *(c for g in user.groups.values() for c in g)}))
        convs = {v.id: v for v in views if v.unread or v.mentions or v.recv_opt or v.marks or v.groups or v.read}
        groups = {name: len(cids) for name, cids in user.groups.items()}
        return UserState(ver=user.ver, total=user.total, conversations=convs, groups=groups)

    def total(self, uid: str) -> tuple[int, int]:
        check.user_id(uid)
        user = self.user(uid)
        return user.total, user.ver

    def filter_total(self, uid: str, flt: Filter) -> tuple[int, int]:
        state = self.snapshot(uid)
        return filter_total(state, flt), state.ver

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
        if position <= c.read or tombstone(cid, mid) in user.tombstones or mid in c.unread:
            return 0
        if position <= c.overflow.high:  # taken as already counted: the folded ids are gone
            self.paths["redelivery of a folded message" if mid in c.folded_ids else "late message at or below X"] += 1
            return 0
        if tombstone(cid, mid) in user.evicted:
            self.paths["recalled message counted after its tombstone was dropped"] += 1
        self.paths["fold"] += c.add(mid, position, mentioned, self.limits.position_cap)
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
            self.paths["tombstone dropped"] += user.bury(cid, rc.id, self.clock, self.limits.tombstones)
            c = user.convs.get(cid)
            if c is not None and rc.id in c.unread:
                del c.unread[rc.id]
                user.commit([cid])
                recalled += 1
            elif c is not None and rc.id in c.folded_ids:
                self.paths["recall of a folded message"] += 1
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
            removed, kept = user.conv(cid).clean(position)
            self.paths["clean below X keeps the overflow"] += int(kept)
            cleaned += removed
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
