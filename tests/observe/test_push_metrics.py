"""The push path's metrics (plain numbers read at collect time) count what the client actually got."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
from prometheus_client.parser import text_string_to_metric_families
from support.ws import Raw, send_c2c

NewId = Callable[[str], str]
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def samples(service: httpx.AsyncClient) -> Samples:
    """Every sample of /metrics, keyed by name and labels."""
    text = (await service.get("/metrics")).text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def grew(before: Samples, after: Samples, name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after[key] - before.get(key, 0.0)


class TestPushMetrics:
    async def test_events_frames_and_lag_match_what_the_client_received(
        self, raw: Callable[..., Awaitable[Raw]], service: httpx.AsyncClient, new_id: NewId
    ) -> None:
        """Five messages, one at a time: five events, a frame per push received, a lag sample and a write per batch."""
        alice, bob = new_id("alice"), new_id("bob")
        conn = await raw(alice)
        await conn.request("get_total", rid="first")
        before = await samples(service)
        for i in range(1, 6):
            await send_c2c(service, bob, alice, f"m{i}", 100 + i)
            await conn.until(lambda f, i=i: f.get("type") == "total" and f["total"] == i)
        await conn.request("ping", rid="last")  # everything pushed before is read by now
        after = await samples(service)
        conversations = conn.pushes("conversations")
        lag_count = grew(before, after, "reddot_publish_to_frame_seconds_count")
        buckets = [v for (name, _), v in after.items() if name == "reddot_publish_to_frame_seconds_bucket"]
        assert 5 == grew(before, after, "reddot_events_received_total")
        assert (len(conversations), 5) == (
            grew(before, after, "reddot_ws_frames_sent_total", type="conversations"),
            grew(before, after, "reddot_ws_frames_sent_total", type="total"),
        )
        assert 1 == grew(before, after, "reddot_ws_frames_sent_total", type="reply")  # the ping
        assert 5 <= lag_count <= len(conversations) + 5 and buckets == sorted(buckets)
        assert after[("reddot_publish_to_frame_seconds_count", ())] == max(buckets)
        # One socket write per flush: each push batch (conversations and total together), and the ping's reply.
        assert lag_count + 1 == grew(before, after, "reddot_ws_socket_writes_total")
