"""The demo fits a phone (420 px) and a desktop (1280 px): nothing cut off, chips wrap, previews end in an ellipsis."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect
from support.browser import Shot
from support.gateway import LiveServer

pytestmark = pytest.mark.browser

WIDTHS = (420, 1280)
GROUPS = ("family", "work-projects", "weekend", "book-club", "neighbours", "football")


def overflowing(page: Page) -> list[str]:
    """Visible elements whose box leaves the viewport on the left or right, by tag and class."""
    return list(
        page.evaluate("""() => {
        const width = document.documentElement.clientWidth;
        return [...document.querySelectorAll("body *")].filter((e) => {
            const r = e.getBoundingClientRect();
            return r.width > 0 && r.height > 0 && (r.left < -0.5 || r.right > width + 0.5)
                && !e.closest(".conversations, .log");  // these scroll inside themselves
        }).map((e) => `${e.tagName.toLowerCase()}.${e.className}`);
    }""")
    )


@pytest.mark.parametrize("width", WIDTHS)
def test_demo_fits_the_width(
    width: int,
    new_context: Callable[[], BrowserContext],
    dev_server: LiveServer,
    service: httpx.Client,
    new_id: Callable[[str], str],
    shot: Shot,
) -> None:
    """With six conversation groups and a long preview, nothing leaves the page, the chips wrap without
    a scrollbar, and the preview is cut with an ellipsis."""
    alice, bob = new_id("alice"), new_id("a-sender-with-a-long-name")
    for name in GROUPS:
        service.post(f"/v1/users/{alice}/conversation-groups", json={"name": name, "conversations": [f"c2c_{bob}"]})
    for i in range(12):
        at = {"at": [alice]} if i % 2 else {}
        service.post(
            "/v1/messages", json={"messages": [{"id": f"m{i}", "from": bob, "to": alice, "timestamp": 100 + i, **at}]}
        )
    context = new_context()
    page = context.new_page()
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{dev_server.url}/demo?user={alice}")
    expect(page.locator("#status")).to_have_text("live")
    expect(page.locator(f'#filters [data-filter="{GROUPS[-1]}"]')).to_be_visible()
    shot(page, str(width))
    assert [] == overflowing(page)
    chips = page.locator("#filters")
    assert chips.evaluate("(e) => e.scrollWidth <= e.clientWidth"), "the filter chips scroll sideways"
    preview = page.locator(f'[data-conv="c2c_{bob}"] .preview')
    style = preview.evaluate("(e) => ['textOverflow', 'whiteSpace', 'overflow'].map((k) => getComputedStyle(e)[k])")
    assert ["ellipsis", "nowrap", "hidden"] == style
