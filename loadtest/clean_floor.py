"""The floor of a clean-all on this Valkey: the commands an exact clean cannot do without, no logic.

Per slice of conversations (reddot's CLEAN_SLICE, calls pipelined like reddot's bulk clean): read
each conversation's counts and receive option (one HMGET), find its top position (a ZRANGE each),
drop the position zsets (one DEL), write the read positions (one HSET), drop the counts (one HDEL),
move the total and the version, publish one event. No repeated-id, partial-clean, overflow or
mention rules, and the conversations are handed over rather than listed with HSCAN. reddot's
clean-all read against this says what its rules cost; a target below this is below the data model.
"""

from __future__ import annotations

import time
from typing import Any

from redis.asyncio import Redis

from counters import CLEAN_SLICE, keys
from loadtest.measure import cpu_seconds

LIBRARY = """#!lua name=reddot_clean_floor
redis.register_function('clean_floor', function(keys, args)
  local ukey, fields, zsets, set, drop, views, delta = keys[1], {}, {}, {}, {}, {}, 0
  for i = 2, #args do
    fields[3 * i - 5], fields[3 * i - 4], fields[3 * i - 3] = 'n:' .. args[i], 'm:' .. args[i], 'o:' .. args[i]
  end
  local got = redis.call('HMGET', ukey, unpack(fields))
  for i = 2, #args do
    local conv, unread = args[i], tonumber(got[3 * i - 5]) or 0
    local top = redis.call('ZRANGE', keys[i], -1, -1, 'WITHSCORES')[2] or '0'
    if got[3 * i - 3] == false then
      delta = delta + unread
    end
    zsets[i - 1], set[2 * i - 3], set[2 * i - 2] = keys[i], 'r:' .. conv, top
    drop[2 * i - 3], drop[2 * i - 2] = 'n:' .. conv, 'm:' .. conv
    views[i - 1] = '["' .. conv .. '",0,0,"' .. top .. '"]'
  end
  redis.call('DEL', unpack(zsets))
  redis.call('HSET', ukey, unpack(set))
  redis.call('HDEL', ukey, unpack(drop))
  local total = redis.call('HINCRBY', ukey, 't', -delta)
  local ver = redis.call('HINCRBY', ukey, 'v', 1)
  redis.call('SPUBLISH', args[1], '{"v":' .. ver .. ',"t":' .. total .. ',"c":[' .. table.concat(views, ',') .. ']}')
  return #args - 1
end)
"""
SETUP_BATCH = 1000


async def measure(redis_url: str, conversations: int, uid: str = "cleanfloor") -> dict[str, Any]:
    """Give `uid` one unread message in each of `conversations` C2C conversations, then clean them all."""
    convs = [f"c2c_{uid}-s{i}" for i in range(conversations)]
    async with Redis.from_url(redis_url) as redis:
        await redis.function_load(LIBRARY, replace=True)
        user = keys.user(uid)
        for first in range(0, conversations, SETUP_BATCH):
            batch = convs[first : first + SETUP_BATCH]
            pipe = redis.pipeline(transaction=False)
            pipe.hset(user, mapping={f"n:{c}": 1 for c in batch})
            pipe.hincrby(user, "t", len(batch))
            for n, conv in enumerate(batch, first):
                pipe.zadd(keys.positions(uid, conv), {f"m{n}": 1000 + n})
            await pipe.execute()
        pipe = redis.pipeline(transaction=False)
        for first in range(0, conversations, CLEAN_SLICE):
            batch = convs[first : first + CLEAN_SLICE]
            names = [keys.user(uid), *(keys.positions(uid, c) for c in batch)]
            pipe.fcall("clean_floor", len(names), *names, keys.events(uid), *batch)
        cpu0, started = cpu_seconds(await redis.info("cpu")), time.perf_counter()
        cleaned = sum(await pipe.execute())
        took, cpu = time.perf_counter() - started, cpu_seconds(await redis.info("cpu")) - cpu0
        total = int(await redis.hget(user, "t") or 0)
        await redis.function_delete("reddot_clean_floor")
        await redis.delete(user)
    return {"conversations": conversations, "cleaned": cleaned, "total_after": total, "latency_ms": took * 1000,
            "valkey_cpu_ms": cpu * 1000}  # fmt: skip
