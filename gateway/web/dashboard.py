"""The ops dashboard: its page, and the JSON of every process's figures plus Redis's INFO."""

from __future__ import annotations

import time
from typing import Any

from redis.asyncio import RedisCluster
from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from counters import Client
from gateway import auth
from gateway.http.common import config_of, reply, route
from gateway.observe import readings
from gateway.observe.fleet import read_fleet
from gateway.observe.push_metrics import FRAME_TYPES
from gateway.web.assets import STATIC_DIR

CACHE_SECONDS = 0.5  # many open dashboards cost Redis one HGETALL and one INFO per half second
SUMMED = (
    "connections", "users_online", "events_per_s", "messages_per_s", "recipient_updates_per_s", "reloads_per_s",
    "pubsub_reconnects_per_s", "errors_per_s", "cpu_percent", "rss_bytes",
)  # fmt: skip
INFO_FIELDS = {
    "role": "role",
    "used_memory": "used_memory",
    "used_memory_human": "used_memory_human",
    "maxmemory": "maxmemory",
    "ops_per_sec": "instantaneous_ops_per_sec",
    "connected_clients": "connected_clients",
    "pubsub_channels": "pubsub_channels",
    "pubsub_shardchannels": "pubsubshard_channels",
    "uptime_s": "uptime_in_seconds",
}


async def page(request: Request) -> Response:
    """The dashboard page: it holds no data, its JSON fetches carry the key."""
    return FileResponse(STATIC_DIR / "dashboard" / "index.html", headers={"cache-control": "no-cache"})


async def stats(request: Request) -> Response:
    """Fleet totals, one row per live process, and the Redis/Valkey status (service key, or dev mode)."""
    config = config_of(request)
    if not config.dev:
        auth.require_service(config, request)
    state = request.app.state
    cached: tuple[float, dict[str, Any]] | None = getattr(state, "dashboard_cache", None)
    if cached is None or time.monotonic() - cached[0] > CACHE_SECONDS:
        cached = (time.monotonic(), await collect(state.redis))
        state.dashboard_cache = cached
    response = reply(cached[1])
    response.headers["cache-control"] = "no-store"
    return response


async def collect(client: Client) -> dict[str, Any]:
    """What one poll of the dashboard gets."""
    try:
        processes = await read_fleet(client)
    except (RedisError, OSError):
        processes = []
    return {
        "at": time.time(),
        "totals": totals(processes),
        "processes": [{k: v for k, v in p.items() if k not in ("lag_bounds", "lag_counts")} for p in processes],
        "redis": await redis_status(client),
    }


def totals(processes: list[dict[str, Any]]) -> dict[str, Any]:
    """Fleet-wide figures: sums, frames per type, and lag quantiles of the merged histograms."""
    summed: dict[str, Any] = {name: round(sum(p.get(name) or 0 for p in processes), 2) for name in SUMMED}
    frames = {kind: round(sum(p["frames_per_s"].get(kind, 0) for p in processes), 2) for kind in FRAME_TYPES}
    p50, p99 = readings.merge_lag(processes)
    counts: dict[str, int] = {}
    for p in processes:
        for name, value in p.get("counts", {}).items():
            counts[name] = counts.get(name, 0) + value
    return {
        "processes": len(processes),
        **summed,
        "frames_per_s": frames,
        "frames_total_per_s": round(sum(frames.values()), 2),
        "lag_p50_ms": p50,
        "lag_p99_ms": p99,
        "counts": counts,
    }


async def redis_status(client: Client) -> dict[str, Any]:
    """Version, role, memory, ops/s, clients and pub/sub channels of each node, from INFO."""
    try:
        if isinstance(client, RedisCluster):
            per_node = await client.info(target_nodes=RedisCluster.PRIMARIES)
            infos = list(per_node.values())
        else:
            infos = [await client.info()]
    except (RedisError, OSError) as error:
        return {"up": False, "error": str(error), "nodes": []}
    return {"up": True, "nodes": [_node(info) for info in infos]}


def _node(info: dict[str, Any]) -> dict[str, Any]:
    server = "valkey" if "valkey_version" in info else "redis"
    keyspace = sum(v.get("keys", 0) for k, v in info.items() if k.startswith("db") and isinstance(v, dict))
    fields = {name: info.get(source) for name, source in INFO_FIELDS.items()}
    return {"server": server, "version": info.get(f"{server}_version"), **fields, "keys": keyspace}


ROUTES = [route("/dashboard", {"GET": page}), route("/v1/dashboard/stats", {"GET": stats})]
