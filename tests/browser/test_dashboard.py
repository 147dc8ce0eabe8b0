"""The ops dashboard: live figures from every process, charts, and its key."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from conftest import Shot
from playwright.sync_api import BrowserContext, Page, expect
from support import SERVICE, SERVICE_KEY, LiveServer, base_config

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
