"""Per-process reports in one small Redis hash: each process writes its own entry, anyone reads them all."""

from __future__ import annotations

from . import keys
from .library import Client


async def write_report(client: Client, process_id: str, entry: bytes, ttl_seconds: int) -> None:
    """Store this process's latest entry; the whole hash expires `ttl_seconds` after the last write."""
    async with client.pipeline(transaction=False) as pipe:
        pipe.hset(keys.process_reports(), process_id, entry)
        pipe.expire(keys.process_reports(), ttl_seconds)
        await pipe.execute()


async def read_reports(client: Client) -> dict[str, str]:
    """Every process's latest entry, by process id. O(processes)."""
    raw = await client.hgetall(keys.process_reports())
    return {str(field): str(entry) for field, entry in raw.items()}  # the client decodes: these are str


async def drop_reports(client: Client, *process_ids: str) -> None:
    """Remove these processes' entries."""
    if process_ids:
        await client.hdel(keys.process_reports(), *process_ids)
