"""Fixtures of the browser tests: Debian's chromium through Playwright, a dev-mode gateway, screenshots."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright
from support.browser import Shot, dev_config
from support.gateway import LiveServer

CHROMIUM = "/usr/bin/chromium"
# Keeps chromium off the network (no component updates, sync, QUIC probes) and runnable as root.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]  # fmt: skip
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
WAIT_MS = 10_000  # how long an expectation may take: pushes arrive in milliseconds, polls every second


# Module scope, not session: the sync driver runs an event loop in this thread while it lives, and
# the async tests that follow in the same session need the thread without a running loop.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    """The Playwright driver."""
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """One headless chromium per test module."""
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def new_context(browser: Browser) -> Iterator[Callable[[], BrowserContext]]:
    """Factory of browser contexts (one per device: separate storage); all closed at teardown."""
    opened: list[BrowserContext] = []

    def make() -> BrowserContext:
        context = browser.new_context(viewport={"width": 1280, "height": 820}, device_scale_factor=1)
        context.set_default_timeout(WAIT_MS)
        opened.append(context)
        return context

    yield make
    for context in opened:
        context.close()


@pytest.fixture
def page(new_context: Callable[[], BrowserContext]) -> Page:
    """A page of a fresh context."""
    return new_context().new_page()


@pytest.fixture(scope="session")
def dev_server(redis_url: str) -> Iterator[LiveServer]:
    """A dev-mode gateway shared by the browser tests."""
    with LiveServer(dev_config(redis_url)) as server:
        yield server


@pytest.fixture
def service(dev_server: LiveServer) -> Iterator[httpx.Client]:
    """The IM backend's HTTP client for the dev gateway (its generated service key)."""
    headers = {"Authorization": f"Bearer {dev_server.config.api_keys[0]}"}
    with httpx.Client(base_url=dev_server.url, headers=headers) as client:
        yield client


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Shot:
    """Save a full-page screenshot as test-output/screenshots/<test>[-<name>].png; returns the path."""

    def take(page: Page, name: str = "") -> Path:
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name) + (f"-{name}" if name else "")
        path = SCREENSHOTS / f"{stem}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path), full_page=True)
        print(f"screenshot: {path}")
        assert path.stat().st_size > 0
        return path

    return take
