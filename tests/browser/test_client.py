"""reddot.js in chromium: request promises, and reconnecting after the gateway restarts on its port."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect
from support.browser import Shot, dev_config
from support.gateway import LiveServer

from counters.connection import connect
from counters.store import Counters
from counters.types import C2CRecall
from gateway.config import Config

pytestmark = pytest.mark.browser


def free_port() -> int:
    """A port nothing listens on now (the OS may hand it out again, but not within this test's seconds)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def post_c2c(server: LiveServer, sender: str, to: str, count: int, first: int) -> None:
    """Ingest `count` C2C messages through the HTTP API."""
    messages = [{"id": f"m{first + i}", "from": sender, "to": to, "timestamp": 100 + first + i} for i in range(count)]
    headers = {"Authorization": f"Bearer {server.config.api_keys[0]}"}
    reply = httpx.post(f"{server.url}/v1/messages", json={"messages": messages}, headers=headers)
    assert 200 == reply.status_code, reply.text


def demo_until_the_gateway_stops(
    page: Page, config: Config, port: int, user: str, sender: str, count: int, badge: Locator
) -> None:
    """The demo of `user` on a gateway at `port` shows `count` messages from `sender` on `badge`; then that
    gateway stops and the page knows it."""
    with LiveServer(config, port=port) as first:
        page.goto(f"{first.url}/demo?user={user}")
        expect(page.locator("#status")).to_have_text("live")
        post_c2c(first, sender, user, count, first=0)
        expect(badge).to_have_text(str(count))
    expect(page.locator("#status")).not_to_have_text("live")


class TestClient:
    def test_request_errors_carry_the_protocol_code(self, page: Page, dev_server: LiveServer) -> None:
        """A refused request rejects with an Error whose `code` is the protocol's; a good one resolves."""
        page.goto(f"{dev_server.url}/healthz")
        outcome = page.evaluate(
            """async () => {
                const { ReddotClient, ReddotError } = await import("/static/reddot.js");
                const mint = async () => (await (await fetch("/v1/dev/token", {
                    method: "POST", body: JSON.stringify({ user: "js-client-user" }) })).json()).token;
                const client = new ReddotClient(mint);
                await client.start();
                const total = await client.getTotal();
                let error = null;
                try { await client.request("subscribe_filter", { filter: { type: 9 } }); }
                catch (e) { error = e; }
                client.close();
                return [typeof total, error instanceof ReddotError, error.code];
            }"""
        )
        expected = ["number", True, "invalid_argument"]
        assert expected == outcome

    def test_reconnects_after_the_gateway_restarts(
        self, page: Page, redis_url: str, new_id: Callable[[str], str], shot: Shot
    ) -> None:
        """The demo's total updates again, without a reload, once a new gateway listens on the same port."""
        config, port, alice, bob = dev_config(redis_url), free_port(), new_id("alice"), new_id("bob")
        total = page.locator("[data-testid=total-badge]")
        demo_until_the_gateway_stops(page, config, port, alice, bob, 2, total)
        with LiveServer(config, port=port) as second:
            expect(page.locator("#status")).to_have_text("live")
            post_c2c(second, bob, alice, 3, first=2)
            expect(total).to_have_text("5")
            assert shot(page).exists()

    def test_a_conversation_emptied_while_away_is_reset(
        self, page: Page, redis_url: str, new_id: Callable[[str], str]
    ) -> None:
        """Its only message is recalled while no gateway runs: after the reconnect the row shows no unread."""
        config, port, alice, bob = dev_config(redis_url), free_port(), new_id("alice"), new_id("bob")
        badge = page.locator(f'li[data-conv="c2c_{bob}"] .badge')
        demo_until_the_gateway_stops(page, config, port, alice, bob, 1, badge)
        with ThreadPoolExecutor(1) as pool:  # Playwright's sync API holds this thread's event loop
            pool.submit(asyncio.run, _recall(redis_url, C2CRecall("m0", bob, alice))).result(timeout=30)
        with LiveServer(config, port=port):
            expect(page.locator("#status")).to_have_text("live")
            expect(page.locator("[data-testid=total-badge]")).to_have_class(re.compile(r"\bhidden\b"))
            expect(badge).to_have_class(re.compile(r"\bhidden\b"))


async def _recall(redis_url: str, recall: C2CRecall) -> None:
    """Recall straight through the counting core: no gateway is up to take the HTTP call."""
    client = connect(redis_url)
    try:
        store = Counters(client)
        await store.start()
        assert [1] == await store.recall([recall])
    finally:
        await client.aclose()
