"""The end-of-run check: every connection's latest values against a fresh snapshot read from Redis."""

from __future__ import annotations

from dataclasses import dataclass

from redis import Redis

from counters import keys, parse_user
from loadtest.clients import Seen, Values

EMPTY: Values = (0, 0, 0, 0)
CHUNK = 500  # user hashes read per pipeline


@dataclass(frozen=True, slots=True)
class Drift:
    """How many connections disagree with Redis, with a few examples."""

    checked: int
    drifted: int
    examples: list[str]


def _visible(convs: dict[str, Values]) -> dict[str, Values]:
    # A conversation back at all-zero values is what the snapshot omits or lists as empty.
    return {cid: v for cid, v in convs.items() if v != EMPTY}


def check(redis_url: str, seens: list[Seen]) -> Drift:
    """Compare unread, mentions, recv_opt and marks of every conversation, and the total when subscribed."""
    uids = sorted({s.uid for s in seens})
    truth = {}
    with Redis.from_url(redis_url, decode_responses=True) as client:
        for i in range(0, len(uids), CHUNK):
            pipe = client.pipeline(transaction=False)
            for uid in uids[i : i + CHUNK]:
                pipe.hgetall(keys.user(uid))
            for uid, fields in zip(uids[i : i + CHUNK], pipe.execute(), strict=True):
                truth[uid] = parse_user(fields)
    drifted, examples = 0, list[str]()
    for seen in seens:
        state = truth[seen.uid]
        want = _visible({c.id: (c.unread, c.mentions, c.recv_opt, c.marks) for c in state.conversations.values()})
        got = _visible(seen.conversations)
        if got != want or (seen.total is not None and seen.total != state.total):
            drifted += 1
            if len(examples) < 5:
                wrong = sorted(c for c in want.keys() | got.keys() if want.get(c) != got.get(c))[:3]
                mine = sum(v[0] for v in got.values() if v[2] == 0)
                examples.append(f"{seen.uid}: total {seen.total} (Σ {mine}) vs {state.total}, conversations {wrong}")
    return Drift(len(seens), drifted, examples)
