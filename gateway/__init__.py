"""The reddot gateway: HTTP for services and users, WebSocket pushes for apps, over `counters`.

Its interfaces are HTTP and WebSocket (docs/protocol.md) and `reddot serve`. The names below are
what tools outside the package (the load tool and its benchmarks) may use besides those.
"""

from gateway.config import Config
from gateway.gc_tuning import paced_gc, quiet_gc
from gateway.observe.readings import quantile as histogram_quantile

__all__ = ["Config", "histogram_quantile", "paced_gc", "quiet_gc"]
