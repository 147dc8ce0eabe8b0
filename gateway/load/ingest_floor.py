"""The floor of ingest on this Valkey: per recipient one HINCRBY and one SPUBLISH, nothing else.

No exactness (no position set, no dedup, no settings, no total): what is left is the cost any
counting gateway pays per recipient on this server, with the same batching as reddot's fan-out
(100 recipients per function call, calls pipelined) and the same AOF. reddot's updates per Valkey
CPU-second divided by this floor's says what the exact counting rules cost.
"""

from __future__ import annotations

import time
from typing import Any

from redis.asyncio import Redis

LIBRARY = """#!lua name=reddot_floor
redis.register_function('floor', function(keys, args)
  for i = 1, #keys do
    local n = redis.call('HINCRBY', keys[i], 'n:c2c_floor', 1)
    redis.call('SPUBLISH', args[i], '{"v":' .. n .. ',"t":' .. n .. '}')
  end
  return #keys
end)
"""
RECIPIENTS_PER_CALL, CALLS_PER_PIPELINE = 100, 50


async def measure(redis_url: str, seconds: float, users: int = 1000) -> dict[str, Any]:
    """Drive the floor function for `seconds`: updates/s and updates per Valkey CPU-second."""
    async with Redis.from_url(redis_url) as redis:
        await redis.function_load(LIBRARY, replace=True)
        ids = [f"floor{i}" for i in range(users)]
        batches = [ids[i : i + RECIPIENTS_PER_CALL] for i in range(0, users, RECIPIENTS_PER_CALL)]
        calls = [([f"u:{{u:{u}}}" for u in b], [f"ev:{{u:{u}}}" for u in b]) for b in batches]
        cpu0, started, updates = await _cpu(redis), time.monotonic(), 0
        while time.monotonic() - started < seconds:
            pipe = redis.pipeline(transaction=False)
            for n in range(CALLS_PER_PIPELINE):
                keys, channels = calls[n % len(calls)]
                pipe.fcall("floor", len(keys), *keys, *channels)
            updates += sum(await pipe.execute())
        elapsed, cpu = time.monotonic() - started, await _cpu(redis) - cpu0
        await redis.function_delete("reddot_floor")
        await redis.delete(*(f"u:{{u:{u}}}" for u in ids))
    return {"updates_per_s": updates / elapsed, "valkey_cpu_share": cpu / elapsed,
            "updates_per_valkey_cpu_s": updates / cpu}  # fmt: skip


async def _cpu(redis: Redis) -> float:
    info = await redis.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])
