"""Two floors of ingest on this Valkey, driven like reddot's fan-out (100 recipients per call, calls
pipelined, same AOF), so reddot's updates per Valkey CPU-second can be read against them.

- `floor`: per recipient one HINCRBY and one SPUBLISH, nothing else: what any counting gateway
  pays per recipient on this server.
- `exact`: the commands exact counting on reddot's data model cannot do without, and no logic: read
  the recipient's fields (HMGET), record the position (ZADD NX), write count, total and version
  (HSET), publish the new values (SPUBLISH). No dedup decision, no tombstone, no cap, no settings.
  The gap between `exact` and reddot is the cost of the rules; the gap to a target is the cost of
  the data model on this server.
"""

from __future__ import annotations

import time
from typing import Any

from redis.asyncio import Redis

from loadtest.measure import cpu_seconds

LIBRARY = """#!lua name=reddot_floor
redis.register_function('floor', function(keys, args)
  for i = 1, #keys do
    local n = redis.call('HINCRBY', keys[i], 'n:c2c_floor', 1)
    redis.call('SPUBLISH', args[i], '{"v":' .. n .. ',"t":' .. n .. '}')
  end
  return #keys
end)
redis.register_function('exact', function(keys, args)
  local conv, pos = args[1], args[2]
  local o, r, n = 'o:' .. conv, 'r:' .. conv, 'n:' .. conv
  for i = 1, #keys / 2 do
    local ukey = keys[2 * i - 1]
    local f = redis.call('HMGET', ukey, o, r, n, 't', 'v')
    redis.call('ZADD', keys[2 * i], 'NX', pos, 'm' .. pos)
    local unread, total, ver = (tonumber(f[3]) or 0) + 1, (tonumber(f[4]) or 0) + 1, (tonumber(f[5]) or 0) + 1
    redis.call('HSET', ukey, n, unread, 't', total, 'v', ver)
    redis.call('SPUBLISH', args[2 + i], '{"v":' .. ver .. ',"t":' .. total .. ',"c":[["' .. conv .. '",' .. unread
      .. ']]}')
  end
  return #keys / 2
end)
"""
RECIPIENTS_PER_CALL, CALLS_PER_PIPELINE = 100, 50
CONVERSATIONS = [f"group_floor{i}" for i in range(4)]  # as the bench's 4 groups: each position zset grows 1/4 as fast


async def measure(redis_url: str, seconds: float, users: int = 1000, function: str = "floor") -> dict[str, Any]:
    """Drive one floor function (`floor` or `exact`) for `seconds`: updates/s and per Valkey CPU-second."""
    ids = [f"floor{i}" for i in range(users)]
    batches = [ids[i : i + RECIPIENTS_PER_CALL] for i in range(0, users, RECIPIENTS_PER_CALL)]
    async with Redis.from_url(redis_url) as redis:
        await redis.function_load(LIBRARY, replace=True)
        cpu0, started, updates, position = cpu_seconds(await redis.info("cpu")), time.monotonic(), 0, 0
        while time.monotonic() - started < seconds:
            pipe = redis.pipeline(transaction=False)
            for n in range(CALLS_PER_PIPELINE):
                batch = batches[n % len(batches)]
                position += n % len(batches) == 0  # a new message once every batch has had the last one
                channels = [f"ev:{{u:{u}}}" for u in batch]
                if function == "floor":
                    pipe.fcall("floor", len(batch), *(f"u:{{u:{u}}}" for u in batch), *channels)
                else:
                    conv = CONVERSATIONS[position % len(CONVERSATIONS)]
                    keys = [k for u in batch for k in (f"u:{{u:{u}}}", f"p:{{u:{u}}}:{conv}")]
                    pipe.fcall("exact", len(keys), *keys, conv, position, *channels)
            updates += sum(await pipe.execute())
        elapsed, cpu = time.monotonic() - started, cpu_seconds(await redis.info("cpu")) - cpu0
        await redis.function_delete("reddot_floor")
        await redis.delete(*(f"u:{{u:{u}}}" for u in ids), *(f"p:{{u:{u}}}:{c}" for u in ids for c in CONVERSATIONS))
    return {"function": function, "updates_per_s": updates / elapsed, "valkey_cpu_share": cpu / elapsed,
            "updates_per_valkey_cpu_s": updates / cpu}  # fmt: skip
