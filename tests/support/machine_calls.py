"""What the counters API sent to the server during one operation, and what the server holds besides the
user snapshot: the evidence that the state machine's caps bite (support.machine_harness)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any, NamedTuple

from redis.asyncio import Redis

from counters import Limits, UserState, keys, parse_user
from counters.library import Library
from support.events import Subscription
from support.model_state import Change, Overflow, change_of

Call = tuple[str, list[str], list[object]]


class Calls:
    """Records every function call a `Library` makes, in round trips (one per `call`, one per
    `call_many`), and checks the fan-out limits on each."""

    def __init__(self, library: Library, limits: Limits) -> None:
        self.limits = limits
        self.trips: list[list[Call]] = []
        call, call_many = library.call, library.call_many

        async def one(name: str, ks: Sequence[str], args: Sequence[object]) -> Any:
            self.trips.append([(name, list(ks), list(args))])
            return await call(name, ks, args)

        async def many(calls: Sequence[tuple[str, Sequence[str], Sequence[object]]]) -> list[Any]:
            self.trips.append([(name, list(ks), list(args)) for name, ks, args in calls])
            return await call_many(calls)

        library.call, library.call_many = one, many  # type: ignore[method-assign]

    def take(self) -> list[list[Call]]:
        trips, self.trips = self.trips, []
        return trips

    def fanout_shapes(self, trips: list[list[Call]]) -> list[str]:
        """How an ingest or recall was split (labels for the tally), after checking it kept the limits:
        at most `recipients_per_call` recipients per call, `calls_per_pipeline` calls per round trip."""
        shapes = []
        recipients: dict[tuple[str, object, object], set[tuple[str, ...]]] = defaultdict(set)
        for trip in trips:
            assert len(trip) <= self.limits.calls_per_pipeline, "a round trip over calls_per_pipeline"
            for name, ks, args in trip:
                users = tuple(ks[0::4])  # four keys per recipient, the user hash first
                assert len(users) <= self.limits.recipients_per_call, "a call over recipients_per_call"
                recipients[name, args[1], args[2]].add(users)  # (function, conversation, message id)
                if len(users) > 1:
                    shapes.append(f"{name}: several recipients in one call")
        shapes += [f"{name}: one message split over calls" for (name, *_), sets in recipients.items() if len(sets) > 1]
        if len(trips) > 1:
            shapes.append(f"{trips[0][0][0]}: several round trips")
        return sorted(set(shapes))


class Observed(NamedTuple):
    """Every user's state, the events published since the last look, each conversation's overflow
    (`x:`, `X:`, `y:` of the user hash) and the user's tombstones, oldest first."""

    states: dict[str, UserState]
    published: dict[str, list[Change]]
    overflows: dict[str, dict[str, Overflow]]
    tombstones: dict[str, list[str]]


async def observe(client: Redis, events: Subscription, users: Sequence[str]) -> Observed:
    """One round trip for the users' hashes and tombstones, then the events published before it."""
    pipe = client.pipeline(transaction=False)
    for uid in users:
        pipe.hgetall(keys.user(uid))
        pipe.zrange(keys.recalled(uid), 0, -1)
    replies = await pipe.execute()
    hashes: list[dict[str, str]] = replies[0::2]
    states = {uid: parse_user(fields) for uid, fields in zip(users, hashes, strict=True)}
    overflows = {uid: _overflows(fields) for uid, fields in zip(users, hashes, strict=True)}
    published = {uid: [change_of(e) for e in evs] for uid, evs in (await events.take()).items()}
    return Observed(states, published, overflows, dict(zip(users, replies[1::2], strict=True)))


def _overflows(fields: dict[str, str]) -> dict[str, Overflow]:
    convs = {name[2:] for name in fields if name.startswith(("x:", "X:", "y:"))}
    return {
        cid: Overflow(int(fields.get(f"x:{cid}", 0)), int(fields.get(f"X:{cid}", 0)), int(fields.get(f"y:{cid}", 0)))
        for cid in convs
    }
