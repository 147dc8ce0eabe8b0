"""The files under gateway/web/static, served at /static: the JS client, the demo and dashboard pages, uPlot."""

from __future__ import annotations

from pathlib import Path

from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"

ROUTES = [Mount("/static", StaticFiles(directory=STATIC_DIR), name="static")]
