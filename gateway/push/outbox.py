"""A connection's pending frames: replies in order, pushes coalesced by what they describe.

Pushes are kept as *keys* (the total, the filters, conversation ids), never as values: the flusher
reads the newest values when it writes. A slow client therefore costs memory bounded by the
number of distinct keys, however many changes happen meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
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
    """Pending frames of one connection (no task of its own: the flusher takes them)."""

    __slots__ = ("_pending", "_room")

    def __init__(self) -> None:
        # Both exist only while needed: an idle connection holds neither a batch nor an event.
        self._pending: Batch | None = None
        self._room: asyncio.Event | None = None  # only while a reader waits for room

    def _batch(self) -> Batch:
        if self._pending is None:
            self._pending = Batch()
        return self._pending

    def reply(self, frame: dict[str, object]) -> None:
        """Queue a reply (replies are never coalesced: each answers one request)."""
        self._batch().replies.append(frame)

    async def room(self) -> None:
        """Wait while too many replies are unsent (the reader stops reading meanwhile)."""
        while self._pending is not None and len(self._pending.replies) >= MAX_PENDING_REPLIES:
            if self._room is None:
                self._room = asyncio.Event()
            await self._room.wait()

    def push(self, total: bool, filters: bool, conversations: Sequence[str], published_ms: int | None) -> int:
        """Mark values as changed; returns how many were already pending (coalesced)."""
        if not (total or filters or conversations):
            return 0
        batch = self._batch()
        coalesced = int(total and batch.total) + int(filters and batch.filters)
        before = len(batch.conversations)
        batch.conversations.update(conversations)
        coalesced += len(conversations) - (len(batch.conversations) - before)
        batch.total |= total
        batch.filters |= filters
        if published_ms is not None and (batch.oldest_ms is None or published_ms < batch.oldest_ms):
            batch.oldest_ms = published_ms
        return coalesced

    def take(self) -> Batch:
        """Hand over everything pending at once."""
        batch, self._pending = self._pending or Batch(), None
        if self._room is not None:
            self._room.set()
            self._room = None
        return batch

    @property
    def empty(self) -> bool:
        """Whether nothing is pending."""
        b = self._pending
        return b is None or not (b.replies or b.total or b.filters or b.conversations)
