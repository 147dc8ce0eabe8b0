"""Change events read straight from users' sharded channels."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from types import TracebackType

from redis.asyncio import Redis

from counters import Conversation, Event, keys, parse_event

DEADLINE = 10.0  # seconds to wait for events that must arrive


class Subscription:
    """The change events of some users, read from their sharded channels on a dedicated connection.

    `take()` publishes a marker on every channel and reads until each marker is back: events are
    delivered in publish order, so it returns exactly the events published before it, with no sleep.
    """

    def __init__(self, redis: Redis, uids: Sequence[str]) -> None:
        self.redis = redis
        self.owner = {keys.events(uid): uid for uid in uids}
        self.pubsub = redis.pubsub()

    async def __aenter__(self) -> Subscription:
        await self.pubsub.ssubscribe(*self.owner)
        # SSUBSCRIBE is only sent: wait for its confirmations, or an early event could be missed.
        confirmed: set[object] = set()

        def confirm(message: dict[str, object]) -> bool:
            if message["type"] == "ssubscribe":
                confirmed.add(message["channel"])
            return confirmed == set(self.owner)

        await self._read_until(confirm)
        return self

    async def __aexit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        await self.pubsub.aclose()

    async def take(self) -> dict[str, list[Event]]:
        """The events published since the last take, per user."""
        marker = f"marker-{uuid.uuid4().hex}"
        pipe = self.redis.pipeline(transaction=False)
        for channel in self.owner:
            pipe.spublish(channel, marker)
        await pipe.execute()
        events: dict[str, list[Event]] = {uid: [] for uid in self.owner.values()}
        waiting = set(self.owner)

        def consume(message: dict[str, object]) -> bool:
            if message["type"] == "smessage":
                if message["data"] == marker:
                    waiting.discard(str(message["channel"]))
                else:
                    events[self.owner[str(message["channel"])]].append(parse_event(str(message["data"])))
            return not waiting

        await self._read_until(consume)
        return events

    async def _read_until(self, done: Callable[[dict[str, object]], bool]) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DEADLINE
        while True:
            left = deadline - loop.time()
            assert left > 0, "the expected pub/sub messages did not arrive"
            message = await self.pubsub.get_message(timeout=left)
            if message is not None and done(message):
                return


def conv(cid: str, **values: object) -> Conversation:
    """A conversation view with the given values (the rest zero)."""
    return Conversation(cid, **values)  # type: ignore[arg-type]  # the tests name only valid fields


def summary(events: list[Event]) -> list[tuple[int, int, dict[str, Conversation]]]:
    """(ver, total, conversations by id) of each event: what must match, publish time aside."""
    return [(e.ver, e.total, {c.id: c for c in e.conversations}) for e in events]
