"""The counters API: every read and write of unread state, over one Redis client."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from . import keys
from . import validate as v
from .errors import Conflict, NotFound, ResourceExhausted, check_status
from .fanout import Fanout
from .library import Client, Library
from .limits import BULK_CONVERSATIONS, Limits
from .snapshot import parse_user
from .types import C2C, Filter, Message, Recall, UserState

CLEAN_SLICE = 100  # conversations per bulk-clean call: 2-4 ms of Redis each, well under 10 ms on a busy machine
CLEAN_SCAN = 4096  # user-hash fields per HSCAN when listing the conversations to clean


@dataclass(frozen=True, slots=True)
class GroupChat:
    """A group chat as the IM backend sees it."""

    id: str
    type: str
    members: int

    def as_dict(self) -> dict[str, object]:
        """The group as the HTTP API returns it."""
        return {"id": self.id, "type": self.type, "members": self.members}


class Counters:
    """Unread counts of every user, kept by the Lua library; arguments are validated here."""

    def __init__(self, client: Client, limits: Limits | None = None) -> None:
        self.client = client
        self.limits = limits or Limits()
        self.library = Library(client)
        self.fanout = Fanout(self.library, self.limits)

    async def start(self) -> None:
        """Load the function library (safe to repeat)."""
        await self.library.load()

    # --- the IM backend's side -------------------------------------------------------

    async def ingest(self, messages: Sequence[Message]) -> list[int]:
        """Count messages; returns, per message, how many recipients' unread grew."""
        for msg in messages:
            v.message(msg)  # the whole batch first: a bad message refuses its batch before any write
        return await self.fanout.ingest(messages)

    async def recall(self, recalls: Sequence[Recall]) -> list[int]:
        """Recall messages; returns, per recall, how many recipients still had it unread."""
        for rc in recalls:
            v.recall(rc)
        return await self.fanout.recall(recalls)

    async def put_group(self, gid: str, kind: str) -> GroupChat:
        """Create a group chat, or confirm it (its type never changes: Conflict)."""
        return await self._chat_group(v.group_id(gid, "groupID"), v.group_type(kind), [], [])

    async def edit_members(self, gid: str, add: Sequence[str], remove: Sequence[str]) -> GroupChat:
        """Add and remove members of an existing group chat."""
        adds = [v.user_id(u, "add") for u in add]
        removes = [v.user_id(u, "remove") for u in remove]
        return await self._chat_group(v.group_id(gid, "groupID"), "", adds, removes)

    async def get_group(self, gid: str) -> GroupChat:
        """A group chat's type and member count."""
        gid = v.group_id(gid, "groupID")
        pipe = self.client.pipeline(transaction=False)
        pipe.hget(keys.group(gid), "type")
        pipe.scard(keys.members(gid))
        kind, size = await pipe.execute()
        if kind is None:
            raise NotFound(f"group {gid} does not exist")
        return GroupChat(gid, kind, int(size))

    async def delete_group(self, gid: str) -> None:
        """Forget a group chat; users keep the unread they have until they clean it."""
        gid = v.group_id(gid, "groupID")
        if not await self.client.delete(keys.group(gid), keys.members(gid), keys.reached(gid)):
            raise NotFound(f"group {gid} does not exist")

    async def _chat_group(self, gid: str, kind: str, add: list[str], remove: list[str]) -> GroupChat:
        result = await self.library.call(
            "chat_group", [keys.group(gid), keys.members(gid), keys.reached(gid)], [kind, len(add), *add, *remove]
        )
        check_status(
            result,
            {
                NotFound: f"group {gid} does not exist: PUT /v1/groups/{gid} first",
                Conflict: f"group {gid} exists with another type; a group's type never changes",
            },
        )
        return GroupChat(gid, result[0], int(result[1]))

    # --- the user's side ---------------------------------------------------------------

    async def clean(self, uid: str, conversation: str, timestamp: int = 0, sequence: int = 0) -> tuple[int, int]:
        """Mark read one conversation (up to a position, 0 = all) or a bulk set; returns (cleaned, ver)."""
        uid = v.user_id(uid)
        timestamp = v.timestamp(timestamp)
        sequence = v.sequence(sequence, "sequence", low=0)
        if isinstance(conversation, str) and conversation in BULK_CONVERSATIONS:
            return await self._clean_bulk(uid, conversation)
        conv = v.conversation(conversation)
        position = timestamp if conv.startswith("c2c_") else sequence
        return await self._clean(uid, [(conv, position)])

    async def _clean_bulk(self, uid: str, which: str) -> tuple[int, int]:
        """Clean every unread conversation of a kind: list them, then pipeline the cleans in slices.

        Each slice is one atomic call and one event; the pipeline keeps Redis busy with the next
        slice while the gateway handles the last one's event, and no call runs for long.
        """
        match = f"n:{which}_*" if which else "n:*"
        user = keys.user(uid)
        found: dict[str, None] = {}  # HSCAN may return a field twice; the clean needs them once
        async for field, _ in self.client.hscan_iter(user, match=match, count=CLEAN_SCAN):  # no NOVALUES in 7.0
            found[(field.decode() if isinstance(field, bytes) else field)[2:]] = None
        convs = list(found)
        slices = [convs[i : i + CLEAN_SLICE] for i in range(0, len(convs), CLEAN_SLICE)] or [[]]
        replies = await self.library.call_many([self._clean_call(uid, [(c, 0) for c in s]) for s in slices])
        return sum(int(cleaned) for cleaned, _ in replies), max(int(ver) for _, ver in replies)

    async def _clean(self, uid: str, targets: list[tuple[str, int]]) -> tuple[int, int]:
        cleaned, ver = await self.library.call(*self._clean_call(uid, targets))
        return int(cleaned), int(ver)

    @staticmethod
    def _clean_call(uid: str, targets: list[tuple[str, int]]) -> tuple[str, list[str], list[object]]:
        """The FCALL of one clean: the user hash, then each conversation's two zsets."""
        ks: list[str] = [keys.user(uid)]
        args: list[object] = [keys.events(uid)]
        for conv, position in targets:
            ks += (keys.positions(uid, conv), keys.mentions(uid, conv))
            args += (conv, position)
        return "clean", ks, args

    async def set_recv_opt(self, uid: str, conversations: Sequence[str], recv_opt: int) -> int:
        """Set the receive option of up to 100 conversations; returns ver."""
        uid = v.user_id(uid)
        convs = v.conversations(conversations, self.limits.conversations_per_call)
        opt = v.recv_opt(recv_opt)
        return int(await self.library.call("recv_opt", [keys.user(uid)], [keys.events(uid), opt, *convs]))

    async def mark(self, uid: str, conversations: Sequence[str], mark: int, enable: bool) -> int:
        """Set (enable) or clear mark bits on up to 100 conversations; returns ver."""
        uid = v.user_id(uid)
        convs = v.conversations(conversations, self.limits.conversations_per_call)
        bits = v.mark(mark)
        args = [keys.events(uid), f"{bits:016x}", 1 if v.flag(enable, "enable") else 0, *convs]
        return int(await self.library.call("mark", [keys.user(uid)], args))

    async def create_conversation_group(self, uid: str, name: str, conversations: Sequence[str]) -> int:
        """Create a conversation group holding the given conversations; returns ver."""
        uid, name = v.user_id(uid), v.group_name(name)
        convs = v.conversations(conversations, self.limits.conversations_per_group)
        args = [keys.events(uid), name, self.limits.groups_per_user, *convs]
        return await self._group_call("group_create", uid, [name], args)

    async def delete_conversation_group(self, uid: str, name: str) -> int:
        """Delete a conversation group (its conversations stay); returns ver."""
        uid, name = v.user_id(uid), v.group_name(name)
        return await self._group_call("group_delete", uid, [name], [keys.events(uid), name])

    async def rename_conversation_group(self, uid: str, name: str, new_name: str) -> int:
        """Rename a conversation group; returns ver."""
        uid, name, new_name = v.user_id(uid), v.group_name(name), v.group_name(new_name, "new_name")
        args = [keys.events(uid), name, new_name]
        return await self._group_call("group_rename", uid, [name, new_name], args)

    async def edit_conversation_group(
        self, uid: str, name: str, add: Sequence[str] = (), remove: Sequence[str] = ()
    ) -> int:
        """One atomic edit: the group becomes (old − remove) ∪ add; returns ver."""
        uid, name = v.user_id(uid), v.group_name(name)
        limit = self.limits.conversations_per_group
        adds = v.conversations(list(add), limit, "add")
        removes = v.conversations(list(remove), limit, "remove")
        args = [keys.events(uid), name, limit, len(adds), *adds, *removes]
        return await self._group_call("group_edit", uid, [name], args)

    async def _group_call(self, fn: str, uid: str, names: list[str], args: Sequence[object]) -> int:
        ks = [keys.user(uid)] + [keys.conversation_group(uid, n) for n in names]
        result = await self.library.call(fn, ks, args)
        check_status(
            result,
            {
                NotFound: f"conversation group {names[0]!r} does not exist",
                Conflict: f"conversation group {names[-1]!r} already exists",
                ResourceExhausted: f"at most {self.limits.groups_per_user} conversation groups per user and "
                f"{self.limits.conversations_per_group} conversations per group",
            },
        )
        return int(result)

    # --- reads ---------------------------------------------------------------------

    async def snapshot(self, uid: str) -> UserState:
        """The user's whole state, read atomically (one HGETALL)."""
        fields: dict[str, str] = await self.client.hgetall(keys.user(v.user_id(uid)))  # type: ignore[assignment]
        return parse_user(fields)

    async def total(self, uid: str) -> tuple[int, int]:
        """(total, ver) in O(1)."""
        total, ver = await self.client.hmget(keys.user(v.user_id(uid)), ["t", "v"])
        return int(total or 0), int(ver or 0)

    async def filter_total(self, uid: str, flt: Filter) -> tuple[int, int]:
        """(total of the conversations the filter selects, ver), from one atomic snapshot."""
        state = await self.snapshot(uid)
        return state.filter_total(flt), state.ver

    async def conversation_groups(self, uid: str) -> list[str]:
        """The user's conversation-group names, sorted."""
        return sorted((await self.snapshot(uid)).groups)


__all__ = ["C2C", "Counters", "GroupChat", "Limits"]
