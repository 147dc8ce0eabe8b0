"""Metrics of live push: connections, users, frames, events, resyncs and publish→frame lag."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from .metrics import REGISTRY

CONNECTIONS = Gauge("reddot_ws_connections", "Open WebSocket connections", registry=REGISTRY)
USERS_ONLINE = Gauge("reddot_users_online", "Users with at least one connection here", registry=REGISTRY)
FRAMES_SENT = Counter("reddot_ws_frames_sent_total", "Frames written to sockets", ["type"], registry=REGISTRY)
FRAMES_COALESCED = Counter(
    "reddot_ws_frames_coalesced_total", "Pushes merged into an already pending frame", registry=REGISTRY
)
EVENTS = Counter("reddot_events_received_total", "Change events read from pub/sub", registry=REGISTRY)
STALE_EVENTS = Counter("reddot_events_stale_total", "Events at or below the known ver, dropped", registry=REGISTRY)
RESYNCS = Counter("reddot_snapshot_reloads_total", "User snapshots (re)loaded", ["reason"], registry=REGISTRY)
PUBSUB_RECONNECTS = Counter("reddot_pubsub_reconnects_total", "Pub/sub connections re-established", registry=REGISTRY)
CLOSES = Counter("reddot_ws_closes_total", "Connections closed by the gateway", ["code"], registry=REGISTRY)
LAG = Histogram(
    "reddot_publish_to_frame_seconds",
    "From the Lua function's publish to the frame written to the socket",
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
    registry=REGISTRY,
)
