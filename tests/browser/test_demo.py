"""The demo app end to end: HTTP ingest → pushes → badges, cleans and settings across two devices."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from playwright.sync_api import BrowserContext, Locator, Page, expect
from support.browser import Shot
from support.gateway import LiveServer, base_config

pytestmark = pytest.mark.browser


def open_demo(page: Page, server: LiveServer, user: str) -> Page:
    """The demo signed in as `user`, once its socket is live."""
    page.goto(f"{server.url}/demo?user={user}")
    expect(page.locator("#status")).to_have_text("live")
    return page


def badge(page: Page, conversation: str) -> Locator:
    """The number badge of a conversation row."""
    return page.locator(f'[data-conv="{conversation}"] .indicator .badge')


def tab_badge(page: Page, tab: str) -> Locator:
    """The badge of a filter tab."""
    return page.locator(f'#filters [data-filter="{tab}"] .badge')


def send(page: Page, sender: str, target: str, count: int, *, at_me: bool = False) -> None:
    """Send messages from the demo's side panel."""
    page.fill("#from", sender)
    page.select_option("#target", target)
    page.fill("#count", str(count))
    page.set_checked("#at-me", at_me)
    page.click("#send button[type=submit]")


def row_action(page: Page, conversation: str, action: str) -> None:
    """Open a conversation's action bar and press one of its buttons."""
    row = page.locator(f'[data-conv="{conversation}"]')
    if row.locator(".actions").is_hidden():
        row.locator(".more").click()
    row.locator(f'[data-action="{action}"]').click()


class TestDemo:
    def test_badges_follow_messages_cleans_and_settings_on_two_devices(
        self,
        new_context: Callable[[], BrowserContext],
        dev_server: LiveServer,
        service: httpx.Client,
        new_id: Callable[[str], str],
        shot: Shot,
    ) -> None:
        """Badges, the tab total and filter tabs follow ingest, clean, star, group and mute on both devices."""
        alice, bob, carol, dave, team = (new_id(n) for n in ("alice", "bob", "carol", "dave", "team"))
        one = open_demo(new_context().new_page(), dev_server, alice)
        total = one.locator("[data-testid=total-badge]")

        send(one, bob, "c2c", 3)
        expect(badge(one, f"c2c_{bob}")).to_have_text("3")
        expect(total).to_have_text("3")

        one.fill("#group-id", team)
        one.fill("#group-members", f"{bob}, {carol}")
        one.click("#new-group button[type=submit]")
        expect(one.locator("#target")).to_have_value(team)
        send(one, carol, team, 5, at_me=True)
        group = f"group_{team}"
        expect(badge(one, group)).to_have_text("5")
        expect(one.locator(f'[data-conv="{group}"] .at')).to_be_visible()
        expect(total).to_have_text("8")
        expect(tab_badge(one, "Groups")).to_have_text("5")

        two = open_demo(new_context().new_page(), dev_server, alice)  # a second device of the same user
        expect(two.locator("[data-testid=total-badge]")).to_have_text("8")

        one.locator(f'[data-conv="c2c_{bob}"] .name').click()  # opening a conversation cleans it
        expect(badge(one, f"c2c_{bob}")).to_be_hidden()
        expect(total).to_have_text("5")
        expect(badge(two, f"c2c_{bob}")).to_be_hidden()
        expect(two.locator("[data-testid=total-badge]")).to_have_text("5")

        row_action(one, group, "star")
        expect(tab_badge(one, "Starred")).to_have_text("5")
        one.locator(f'[data-conv="{group}"] .actions input').fill("work")
        row_action(one, group, "group")
        expect(tab_badge(one, "work")).to_have_text("5")
        expect(tab_badge(two, "work")).to_have_text("5")

        row_action(one, group, "mute")
        expect(one.locator(f'[data-conv="{group}"] .dot')).to_be_visible()
        expect(badge(one, group)).to_be_hidden()
        expect(total).to_be_hidden()  # 0: a muted conversation leaves the total
        expect(tab_badge(one, "Starred")).to_be_hidden()
        expect(two.locator(f'[data-conv="{group}"] .dot')).to_be_visible()

        reply = service.post(
            "/v1/messages",
            json={"messages": [{"id": f"m{i}", "from": dave, "to": alice, "timestamp": 100} for i in range(120)]},
        )
        assert 200 == reply.status_code, reply.text
        expect(badge(one, f"c2c_{dave}")).to_have_text("99+")
        expect(total).to_have_text("99+")
        expect(tab_badge(two, "All")).to_have_text("99+")
        assert shot(one, "device-1").exists()
        assert shot(two, "device-2").exists()

    def test_demo_is_absent_outside_dev_mode(self, redis_url: str) -> None:
        """GET /demo and the service-key route answer 404 in production mode."""
        with LiveServer(base_config(redis_url)) as server:
            statuses = [httpx.get(server.url + path).status_code for path in ("/demo", "/v1/dev/service-key")]
        expected = [404, 404]
        assert expected == statuses
