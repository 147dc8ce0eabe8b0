"""Turn messages and recalls into batched per-recipient function calls."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from redis.asyncio import RedisCluster
from redis.crc import key_slot

from . import keys
from .errors import NotFound
from .library import Client, Library
from .limits import COUNTING_GROUP_TYPES, Limits
from .types import C2CMessage, C2CRecall, GroupMessage, GroupRecall, Message, Recall

Call = tuple[str, list[str], list[object]]


def _batches(client: Client, users: Iterable[str], size: int) -> Iterator[list[str]]:
    """Split recipients into batches of one function call each.

    On a cluster one call may only touch one slot, so users are grouped by slot first.
    """
    if isinstance(client, RedisCluster):
        by_slot: dict[int, list[str]] = {}
        for uid in users:
            by_slot.setdefault(key_slot(f"{{u:{uid}}}".encode()), []).append(uid)
        groups: Iterable[list[str]] = by_slot.values()
    else:
        groups = [list(users)]
    for group in groups:
        for i in range(0, len(group), size):
            yield group[i : i + size]


class Fanout:
    """Ingest and recall: validated values in, per-message recipient counts out."""

    def __init__(self, library: Library, limits: Limits) -> None:
        self.library = library
        self.limits = limits

    async def ingest(self, messages: Sequence[Message]) -> list[int]:
        """Count every message for its recipients; returns recipients counted per message."""
        groups = await self._group_info({m.group for m in messages if isinstance(m, GroupMessage)})
        calls: list[Call] = []
        owners: list[int] = []
        reached: list[tuple[str, list[str]]] = []
        for index, msg in enumerate(messages):
            for call in self._ingest_calls(msg, groups):
                calls.append(call)
                owners.append(index)
            if isinstance(msg, GroupMessage) and msg.recipients:
                # Explicit recipients must be visited by a later recall too.
                reached.append((keys.reached(msg.group), list(msg.recipients)))
        if reached:
            await self._remember_reached(reached)
        return await self._run(calls, owners, len(messages))

    async def recall(self, recalls: Sequence[Recall]) -> list[int]:
        """Remove every recalled message from its recipients; returns recipients affected per recall."""
        reached = await self._reached({r.group for r in recalls if isinstance(r, GroupRecall)})
        calls: list[Call] = []
        owners: list[int] = []
        for index, rc in enumerate(recalls):
            if isinstance(rc, C2CRecall):
                users, conv = [rc.to], f"c2c_{rc.sender}"
            else:
                users, conv = sorted(reached[rc.group]), f"group_{rc.group}"
            for batch in _batches(self.library.client, users, self.limits.recipients_per_call):
                calls.append(
                    (
                        "recall",
                        _recipient_keys(batch, conv),
                        [self.limits.tombstones, conv, rc.id] + [keys.events(u) for u in batch],
                    )
                )
                owners.append(index)
        return await self._run(calls, owners, len(recalls))

    def _ingest_calls(self, msg: Message, groups: dict[str, tuple[str, set[str]]]) -> Iterator[Call]:
        if msg.excluded:
            return
        if isinstance(msg, C2CMessage):
            if msg.sender != msg.to:
                conv = f"c2c_{msg.sender}"
                yield (
                    "ingest",
                    _recipient_keys([msg.to], conv),
                    [self.limits.position_cap, conv, msg.id, msg.timestamp, 0, keys.events(msg.to)],
                )
            return
        kind, members = groups[msg.group]
        if kind not in COUNTING_GROUP_TYPES:
            return
        users = set(msg.recipients) if msg.recipients is not None else set(members)  # a copy: shared per batch
        users.discard(msg.sender)
        conv = f"group_{msg.group}"
        for batch in _batches(self.library.client, sorted(users), self.limits.recipients_per_call):
            args: list[object] = [self.limits.position_cap, conv, msg.id, msg.seq]
            for uid in batch:
                args += (1 if msg.at_all or uid in msg.at else 0, keys.events(uid))
            yield ("ingest", _recipient_keys(batch, conv), args)

    async def _run(self, calls: list[Call], owners: list[int], size: int) -> list[int]:
        totals = [0] * size
        step = self.limits.calls_per_pipeline
        for start in range(0, len(calls), step):
            replies = await self.library.call_many(calls[start : start + step])
            for owner, reply in zip(owners[start : start + step], replies, strict=True):
                totals[owner] += int(reply)
        return totals

    async def _group_info(self, gids: set[str]) -> dict[str, tuple[str, set[str]]]:
        """Type and members of each group; NotFound (before any change) if one is unknown."""
        if not gids:
            return {}
        ordered = sorted(gids)
        pipe = self.library.client.pipeline(transaction=False)
        for gid in ordered:
            pipe.hget(keys.group(gid), "type")
            pipe.smembers(keys.members(gid))
        replies = await pipe.execute()
        info = {}
        for i, gid in enumerate(ordered):
            kind, members = replies[2 * i], replies[2 * i + 1]
            if kind is None:
                raise NotFound(f"group {gid} does not exist: PUT /v1/groups/{gid} first")
            info[gid] = (kind, set(members))
        return info

    async def _reached(self, gids: set[str]) -> dict[str, set[str]]:
        """Everyone a recall of each group must visit; NotFound if a group is unknown."""
        if not gids:
            return {}
        ordered = sorted(gids)
        pipe = self.library.client.pipeline(transaction=False)
        for gid in ordered:
            pipe.exists(keys.group(gid))
            pipe.smembers(keys.reached(gid))
        replies = await pipe.execute()
        reached = {}
        for i, gid in enumerate(ordered):
            if not replies[2 * i]:
                raise NotFound(f"group {gid} does not exist")
            reached[gid] = set(replies[2 * i + 1])
        return reached

    async def _remember_reached(self, adds: list[tuple[str, list[str]]]) -> None:
        pipe = self.library.client.pipeline(transaction=False)
        for key, users in adds:
            pipe.sadd(key, *users)
        await pipe.execute()


def _recipient_keys(users: Sequence[str], conv: str) -> list[str]:
    out: list[str] = []
    for uid in users:
        out.extend(keys.recipient_keys(uid, conv))
    return out
