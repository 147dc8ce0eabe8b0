"""What the browser tests share besides fixtures: the screenshot type and the dev-mode config."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page

from gateway.config import Config

Shot = Callable[[Page, str], Path]


def dev_config(redis_url: str) -> Config:
    """A dev-mode config on the session Valkey (generated keys, demo, open dashboard)."""
    return Config(redis_url=redis_url, dev=True).checked()
