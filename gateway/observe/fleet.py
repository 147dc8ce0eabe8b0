"""Every gateway process publishes its figures to Redis each second; the dashboard reads them all."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from redis.exceptions import RedisError
from starlette.applications import Starlette

from counters import Client, drop_reports, read_reports, write_report
from gateway.observe import readings

log = logging.getLogger("reddot.fleet")

PROCESS_ID = f"{socket.gethostname()}:{os.getpid()}"
"""One entry per OS process: apps sharing a process share its metrics registry, hence its figures."""
INTERVAL = 1.0
STALE_AFTER = 5.0  # an entry this old is not shown: its process stopped, hangs, or lost Redis
FORGET_AFTER = 60.0  # an entry this old is deleted (a process killed before it could withdraw)
HASH_TTL = 60  # seconds: the whole hash goes away once no process writes


class Reporter:
    """Writes this process's figures under its field of the fleet hash, once per INTERVAL."""

    def __init__(self, client: Client, process_id: str = PROCESS_ID) -> None:
        self.client, self.process_id = client, process_id
        self.started = time.time()
        self._failing = False

    async def run(self) -> None:
        """Report until cancelled; Redis errors are logged once and retried next tick."""
        loop = asyncio.get_running_loop()
        before = readings.read()
        tick = loop.time()
        while True:
            tick += INTERVAL
            await asyncio.sleep(max(0.0, tick - loop.time()))  # a fixed period, not synchronisation
            now = readings.read()
            await self.write(readings.figures(before, now))
            before = now

    async def write(self, values: dict[str, object]) -> None:
        """One entry: the figures, who wrote them and when."""
        entry = {"id": self.process_id, "at": time.time(), "started": self.started, **values}
        try:
            await write_report(self.client, self.process_id, orjson.dumps(entry), HASH_TTL)
        except (RedisError, OSError) as error:
            if not self._failing:
                log.warning("cannot write this process's figures to Redis: %s", error)
            self._failing = True
        else:
            self._failing = False

    async def withdraw(self) -> None:
        """Remove this process's entry (on shutdown), so the dashboard drops it at once."""
        with contextlib.suppress(RedisError, OSError):
            await drop_reports(self.client, self.process_id)


@asynccontextmanager
async def reporter(app: Starlette) -> AsyncIterator[None]:
    """Lifespan component: this process reports its figures while the app runs."""
    report = Reporter(app.state.redis)
    task = asyncio.create_task(report.run(), name="reddot-fleet-reporter")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await report.withdraw()


async def read_fleet(client: Client) -> list[dict[str, Any]]:
    """Every live process's latest entry, by process id; deletes entries long dead. O(processes)."""
    raw = await read_reports(client)
    now, live, dead = time.time(), [], []
    for field, value in raw.items():
        try:
            entry = orjson.loads(value)
            age = now - float(entry["at"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            dead.append(field)  # written by something else, or by a broken version: not ours to show
            continue
        if age > FORGET_AFTER:
            dead.append(field)
        elif age <= STALE_AFTER:
            entry["age_s"] = round(max(0.0, age), 2)
            live.append(entry)
    if dead:
        await drop_reports(client, *dead)
    return sorted(live, key=lambda entry: str(entry["id"]))
