"""A connection's pending frames: replies in order, pushes coalesced by what they describe.

Pushes are kept as *keys* (the total, the filters, conversation ids), never as values: the writer
reads the newest values when it writes. A slow client therefore costs memory bounded by the
number of distinct keys, however many changes happen meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field

MAX_PENDING_REPLIES = 64  # a client that sends requests without reading replies waits here


@dataclass(slots=True)
class Batch:
    """Everything the writer should send now."""

    replies: list[dict[str, object]] = field(default_factory=list)
    total: bool = False
    filters: bool = False
    conversations: set[str] = field(default_factory=set)
    oldest_ms: int | None = None  # publish time of the oldest change in this batch


class Outbox:
    """Pending frames of one connection."""

    def __init__(self) -> None:
        self._pending = Batch()
        self._ready = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()

    def reply(self, frame: dict[str, object]) -> None:
        """Queue a reply (replies are never coalesced: each answers one request)."""
        self._pending.replies.append(frame)
        if len(self._pending.replies) >= MAX_PENDING_REPLIES:
            self._room.clear()
        self._ready.set()

    async def room(self) -> None:
        """Wait while too many replies are unsent (the reader stops reading meanwhile)."""
        await self._room.wait()

    def push(self, total: bool, filters: bool, conversations: Iterable[str], published_ms: int | None) -> int:
        """Mark values as changed; returns how many were already pending (coalesced)."""
        batch = self._pending
        coalesced = int(total and batch.total) + int(filters and batch.filters)
        before = len(batch.conversations)
        added = 0
        for cid in conversations:
            batch.conversations.add(cid)
            added += 1
        coalesced += added - (len(batch.conversations) - before)
        batch.total |= total
        batch.filters |= filters
        if published_ms is not None and (batch.oldest_ms is None or published_ms < batch.oldest_ms):
            batch.oldest_ms = published_ms
        if total or filters or added:
            self._ready.set()
        return coalesced

    async def take(self) -> Batch:
        """Wait for something to send, then hand over all of it at once."""
        await self._ready.wait()
        self._ready.clear()
        batch, self._pending = self._pending, Batch()
        self._room.set()
        return batch

    @property
    def empty(self) -> bool:
        """Whether nothing is pending."""
        b = self._pending
        return not (b.replies or b.total or b.filters or b.conversations)
