"""This process's live figures: readings of the Prometheus registry, turned into rates by deltas."""

from __future__ import annotations

import math
import os
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry

from gateway.observe.metrics import REGISTRY
from gateway.observe.push_metrics import FRAME_TYPES

Samples = dict[str, list[tuple[dict[str, str], float]]]


@dataclass(frozen=True, slots=True)
class Reading:
    """Cumulative values of the registry at one moment (counters only grow, so deltas are rates)."""

    at: float  # time.monotonic()
    connections: float = 0
    users_online: float = 0
    rss_bytes: float = 0
    cpu_seconds: float = 0
    counts: dict[str, float] = field(default_factory=dict)  # frames.<type>, events, messages, …
    lag_bounds: tuple[float, ...] = ()
    lag_cumulative: tuple[float, ...] = ()  # per bucket, as Prometheus keeps them (le, +Inf last)


# The samples the dashboard reads. Only their collectors run: the process collector lists every open
# file descriptor, which with 10,000 sockets cost ~5 % of a busy gateway's CPU (py-spy), once a second.
SAMPLES = (
    "reddot_ws_frames_sent_total", "reddot_events_received_total", "reddot_messages_ingested_total",
    "reddot_recipient_updates_total", "reddot_snapshot_reloads_total", "reddot_pubsub_reconnects_total",
    "reddot_http_requests_total", "reddot_ws_closes_total", "reddot_publish_to_frame_seconds_bucket",
    "reddot_ws_connections", "reddot_users_online",
)  # fmt: skip
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def read(registry: CollectorRegistry = REGISTRY) -> Reading:
    """The registry's current values, and this process's CPU time and RSS."""
    samples: Samples = defaultdict(list)
    for metric in registry.restricted_registry(SAMPLES).collect():
        for sample in metric.samples:
            samples[sample.name].append((sample.labels, sample.value))
    counts = {f"frames.{kind}": _sum(samples, "reddot_ws_frames_sent_total", type=kind) for kind in FRAME_TYPES}
    counts |= {
        "events": _sum(samples, "reddot_events_received_total"),
        "messages": _sum(samples, "reddot_messages_ingested_total"),
        "recipient_updates": _sum(samples, "reddot_recipient_updates_total"),
        "reloads": _sum(samples, "reddot_snapshot_reloads_total"),
        "pubsub_reconnects": _sum(samples, "reddot_pubsub_reconnects_total"),
        # What a client saw fail: HTTP 5xx replies (503 while Redis is down included) and 1011 closes.
        "errors": sum(v for labels, v in samples["reddot_http_requests_total"] if labels["status"].startswith("5"))
        + _sum(samples, "reddot_ws_closes_total", code="1011"),
    }
    buckets = sorted((_le(labels["le"]), v) for labels, v in samples["reddot_publish_to_frame_seconds_bucket"])
    return Reading(
        at=time.monotonic(),
        connections=_sum(samples, "reddot_ws_connections"),
        users_online=_sum(samples, "reddot_users_online"),
        rss_bytes=_rss_bytes(),
        cpu_seconds=sum(os.times()[:2]),
        counts=counts,
        lag_bounds=tuple(b for b, _ in buckets),
        lag_cumulative=tuple(v for _, v in buckets),
    )


def figures(before: Reading, now: Reading) -> dict[str, object]:
    """What the dashboard shows for one process: gauges, per-second rates, and lag over the interval."""
    seconds = max(now.at - before.at, 1e-6)

    def rate(name: str) -> float:
        return round(max(0.0, now.counts.get(name, 0) - before.counts.get(name, 0)) / seconds, 2)

    lag_counts = _lag_delta(before, now)
    return {
        "connections": int(now.connections),
        "users_online": int(now.users_online),
        "frames_per_s": {kind: rate(f"frames.{kind}") for kind in FRAME_TYPES},
        "events_per_s": rate("events"),
        "messages_per_s": rate("messages"),
        "recipient_updates_per_s": rate("recipient_updates"),
        "reloads_per_s": rate("reloads"),
        "pubsub_reconnects_per_s": rate("pubsub_reconnects"),
        "errors_per_s": rate("errors"),
        "lag_p50_ms": _ms(quantile(0.5, now.lag_bounds, lag_counts)),
        "lag_p99_ms": _ms(quantile(0.99, now.lag_bounds, lag_counts)),
        "lag_bounds": [b if math.isfinite(b) else None for b in now.lag_bounds],  # JSON has no Infinity
        "lag_counts": list(lag_counts),
        "cpu_percent": round(100 * max(0.0, now.cpu_seconds - before.cpu_seconds) / seconds, 1),
        "rss_bytes": int(now.rss_bytes),
        "counts": {name: int(value) for name, value in now.counts.items()},
    }


def quantile(q: float, bounds: Sequence[float], cumulative: Sequence[float]) -> float | None:
    """The q-quantile of histogram buckets, interpolated inside its bucket (as PromQL's histogram_quantile)."""
    if not cumulative or cumulative[-1] <= 0:
        return None
    rank = q * cumulative[-1]
    low, below = 0.0, 0.0
    for bound, count in zip(bounds, cumulative, strict=True):
        if count >= rank and count > below:
            if math.isinf(bound):
                return low  # beyond the last finite bucket: its bound is all we know
            return low + (bound - low) * (rank - below) / (count - below)
        low, below = bound, count
    return None


def merge_lag(entries: Iterable[dict[str, Any]]) -> tuple[float | None, float | None]:
    """Fleet-wide lag p50 and p99 (ms) from every process's bucket deltas (same bucket layout only)."""
    bounds: list[float | None] | None = None
    total: list[float] = []
    for entry in entries:
        counts = entry.get("lag_counts")
        if not isinstance(counts, list) or not counts:
            continue
        if bounds is None:
            bounds, total = list(entry.get("lag_bounds") or ()), [0.0] * len(counts)
        if entry.get("lag_bounds") != bounds or len(counts) != len(total):
            continue  # another version's buckets: cannot be summed bucket by bucket
        total = [a + float(b) for a, b in zip(total, counts, strict=True)]
    if bounds is None:
        return None, None
    finite = [math.inf if b is None else float(b) for b in bounds]
    return _ms(quantile(0.5, finite, total)), _ms(quantile(0.99, finite, total))


def _lag_delta(before: Reading, now: Reading) -> tuple[float, ...]:
    if before.lag_bounds != now.lag_bounds:
        return now.lag_cumulative
    return tuple(max(0.0, b - a) for a, b in zip(before.lag_cumulative, now.lag_cumulative, strict=True))


def _rss_bytes() -> float:
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE
    except OSError:  # not Linux: the dashboard shows 0
        return 0.0


def _sum(samples: Samples, name: str, **match: str) -> float:
    return sum(v for labels, v in samples.get(name, ()) if all(labels.get(k) == w for k, w in match.items()))


def _le(text: str) -> float:
    return math.inf if text == "+Inf" else float(text)


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)
