"""The ops dashboard: live figures from every process, charts, and its key."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect
from redis.asyncio import Redis
from support.browser import Shot
from support.gateway import SERVICE, SERVICE_KEY, LiveServer, base_config

from gateway.observe import readings
from gateway.observe.fleet import Reporter

pytestmark = pytest.mark.browser


class TestDashboard:
    def test_figures_change_with_traffic_and_charts_render(
        self,
        page: Page,
        new_context: Callable[[], BrowserContext],
        dev_server: LiveServer,
        service: httpx.Client,
        new_id: Callable[[str], str],
        shot: Shot,
    ) -> None:
        """With a device connected, messages move the ingest and frame figures; four charts draw."""
        alice, bob = new_id("alice"), new_id("bob")
        device = new_context().new_page()
        device.goto(f"{dev_server.url}/demo?user={alice}")
        expect(device.locator("#status")).to_have_text("live")
        page.goto(f"{dev_server.url}/dashboard")
        expect(page.locator("#kpi-connections .value")).not_to_have_text("0")
        messages = page.locator("#kpi-messages .sub")
        expect(messages).to_contain_text("ingested")
        frames = page.locator("#kpi-frames .sub")
        before, frames_before = messages.inner_text(), frames.inner_text()
        expect(page.locator(".chart canvas")).to_have_count(4)

        batch = [{"id": f"m{i}", "from": bob, "to": alice, "timestamp": 100 + i} for i in range(25)]
        assert 200 == service.post("/v1/messages", json={"messages": batch}).status_code
        expect(messages).not_to_have_text(before)
        expect(page.locator("#processes tbody tr")).not_to_have_count(0)
        expect(page.locator("#redis tbody td").first).to_contain_text("valkey")
        expect(frames).not_to_have_text(frames_before)  # cumulative counts: a 1-s rate could be missed
        assert shot(page).exists()

    def test_stats_need_the_service_key_outside_dev_mode(self, page: Page, redis_url: str, shot: Shot) -> None:
        """In production mode the JSON answers 401 without a key; the page asks for one, then shows figures."""
        with LiveServer(base_config(redis_url)) as server:
            without = httpx.get(f"{server.url}/v1/dashboard/stats").status_code
            with_key = httpx.get(f"{server.url}/v1/dashboard/stats", headers=SERVICE).status_code
            page.goto(f"{server.url}/dashboard")
            expect(page.locator("#login")).to_be_visible()
            page.fill("#key", SERVICE_KEY)
            page.click("#login button")
            expect(page.locator("#kpi-connections .value")).to_have_text("0", timeout=5000)
            assert shot(page, "after-login").exists()
        expected = (401, 200)
        assert expected == (without, with_key)


class TestFleetOfTwenty:
    def test_twenty_processes_show_as_one_fleet(
        self, page: Page, dev_server: LiveServer, redis_url: str, shot: Shot
    ) -> None:
        """19 more processes reporting (as the fleet reports write them): totals count 20, the table lists all."""
        others = [f"bench-host:{40000 + i}" for i in range(19)]

        async def report() -> None:
            client = Redis.from_url(redis_url)
            try:
                values = readings.figures(readings.read(), readings.read())
                for process_id in others:
                    await Reporter(client, process_id).write({**values, "connections": 500})
            finally:
                await client.aclose()

        in_thread(report())
        page.goto(f"{dev_server.url}/dashboard")
        expect(page.locator("#fleet")).to_contain_text("20 gateway processes")
        expect(page.locator("#processes tbody tr")).to_have_count(20)
        expect(page.locator("#kpi-connections .value")).to_contain_text("9,5")  # 19 x 500 and this process's own
        assert shot(page).exists()
        in_thread(_withdraw(redis_url, others))


def in_thread(coro: Coroutine[object, object, None]) -> None:
    """Run a coroutine to completion off this thread, where Playwright's sync driver owns the event loop."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, coro).result()


async def _withdraw(redis_url: str, process_ids: list[str]) -> None:
    client = Redis.from_url(redis_url)
    try:
        for process_id in process_ids:
            await Reporter(client, process_id).withdraw()
    finally:
        await client.aclose()
