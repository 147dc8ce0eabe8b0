"""A gateway's own publish→frame-written histogram, read from its /metrics around a phase.

The clients' latency starts before the HTTP POST that makes a change, so it includes the ingest hop
and the client processes; the gateway's histogram starts at the Lua publish and ends when the frame
is written. The two bracket the publish→frame-received latency.
"""

from __future__ import annotations

import asyncio
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from gateway import histogram_quantile

METRIC = "reddot_publish_to_frame_seconds"

Buckets = tuple[tuple[float, ...], tuple[float, ...]]  # (upper bounds, cumulative counts)


async def read(base_url: str) -> Buckets:
    """The histogram's buckets now."""
    text = await asyncio.to_thread(_get, f"{base_url}/metrics")
    pairs: list[tuple[float, float]] = []
    for family in text_string_to_metric_families(text):
        if family.name == METRIC:
            pairs = sorted((float(s.labels["le"]), s.value) for s in family.samples if s.name == f"{METRIC}_bucket")
    return tuple(b for b, _ in pairs), tuple(c for _, c in pairs)


def p99_ms(before: Buckets, after: Buckets) -> float | None:
    """The 99th percentile, in ms, of what was observed between two readings."""
    bounds, counts = after
    delta = [b - a for a, b in zip(before[1] or (0.0,) * len(counts), counts, strict=True)]
    value = histogram_quantile(0.99, bounds, delta)
    return None if value is None else value * 1000


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:  # a loopback URL of this run
        return str(response.read().decode())
