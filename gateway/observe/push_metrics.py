"""Metrics of live push: connections, users, frames, events, resyncs and publish→frame lag."""

from __future__ import annotations

import bisect
import itertools

from prometheus_client import Counter, Gauge, Metric
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily

from gateway.observe.metrics import REGISTRY

CONNECTIONS = Gauge("reddot_ws_connections", "Open WebSocket connections", registry=REGISTRY)
USERS_ONLINE = Gauge("reddot_users_online", "Users with at least one connection here", registry=REGISTRY)
STALE_EVENTS = Counter("reddot_events_stale_total", "Events at or below the known ver, dropped", registry=REGISTRY)
RESYNCS = Counter("reddot_snapshot_reloads_total", "User snapshots (re)loaded", ["reason"], registry=REGISTRY)
PUBSUB_RECONNECTS = Counter("reddot_pubsub_reconnects_total", "Pub/sub connections re-established", registry=REGISTRY)
CLOSES = Counter("reddot_ws_closes_total", "Connections closed by the gateway", ["code"], registry=REGISTRY)

FRAME_TYPES = ("conversations", "total", "filter", "reply")
LAG_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class PushCounts:
    """The push path's counts as plain numbers, which Prometheus reads only when it collects.

    A prometheus_client Counter takes a lock per inc, a Histogram two plus a bucket search per
    observe: at several per frame that was ~8 % of a pushing gateway's CPU (py-spy, fan-out).
    Only the event loop's thread writes these.
    """

    def __init__(self) -> None:
        self.events = 0  # change events read from pub/sub
        self.coalesced = 0  # pushes merged into an already pending frame
        self.writes = 0  # socket writes of frames (one flush's frames to one connection share one)
        self.frames = dict.fromkeys(FRAME_TYPES, 0)
        self.lag = [0] * (len(LAG_BUCKETS) + 1)  # per bucket, not cumulative; +Inf last
        self.lag_sum = 0.0

    def observe_lag(self, seconds: float) -> None:
        """One frame batch written `seconds` after the Lua function published its newest change."""
        self.lag[bisect.bisect_left(LAG_BUCKETS, seconds)] += 1
        self.lag_sum += seconds

    def describe(self) -> list[Metric]:
        """The metric families (the registry maps names to collectors with this)."""
        return self.collect()

    def collect(self) -> list[Metric]:
        """The current values, as the Counters and Histogram they replace exposed them."""
        events = CounterMetricFamily("reddot_events_received", "Change events read from pub/sub", self.events)
        coalesced = CounterMetricFamily(
            "reddot_ws_frames_coalesced", "Pushes merged into an already pending frame", self.coalesced
        )
        writes = CounterMetricFamily(
            "reddot_ws_socket_writes", "Socket writes of frames (a flush's frames to a socket share one)", self.writes
        )
        frames = CounterMetricFamily("reddot_ws_frames_sent", "Frames written to sockets", labels=["type"])
        for kind, count in self.frames.items():
            frames.add_metric([kind], count)
        cumulative = list(itertools.accumulate(self.lag))
        bounds = [str(b) for b in LAG_BUCKETS] + ["+Inf"]  # as Histogram writes `le`: 0.0005, 1.0, …
        lag = HistogramMetricFamily(
            "reddot_publish_to_frame_seconds",
            "From the Lua function's publish to the frame written to the socket",
            buckets=list(zip(bounds, cumulative, strict=True)),
            sum_value=self.lag_sum,
        )
        return [events, coalesced, writes, frames, lag]


PUSH = PushCounts()
REGISTRY.register(PUSH)
