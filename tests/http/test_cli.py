"""`reddot serve` as a real process: it serves, and SIGTERM stops it (and its Valkey) cleanly."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from support.gateway import JWT_SECRET, SERVICE, SERVICE_KEY, token
from support.processes import DEADLINE, Gateway
from websockets.asyncio.client import connect

pytestmark = pytest.mark.anyio  # see test_service_routes.py

Start = Callable[..., Gateway]


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Start]:
    """Factory of gateway processes, each killed at teardown if still alive."""
    started: list[Gateway] = []

    def launch(*args: str) -> Gateway:
        started.append(Gateway(tmp_path, *args))
        return started[-1]

    yield launch
    for gateway in started:
        gateway.kill()


def process_gone(pid: int) -> bool:
    """Whether no live process has this pid (a zombie counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")


class TestServe:
    async def test_serves_with_external_redis(self, start: Start, redis_url: str, tmp_path: Path) -> None:
        """With --redis-url and keys it becomes ready, serves the API, and exits 0 on SIGTERM."""
        args = ["--redis-url", redis_url, "--api-key", SERVICE_KEY, "--jwt-secret", JWT_SECRET]
        gateway = start(*args, "--data-dir", str(tmp_path / "unused"))
        await gateway.wait_ready()
        async with httpx.AsyncClient(base_url=gateway.url) as client:
            status = (await client.get("/v1/users/alice/unread", headers=SERVICE)).status_code
        expected = (200, 0, False)
        assert expected == (status, gateway.terminate(), (tmp_path / "unused").exists())

    async def test_dev_mode_runs_embedded_valkey(self, start: Start, tmp_path: Path) -> None:
        """Without a Redis URL it starts Valkey in --data-dir, prints the dev banner, and stops Valkey on exit."""
        data = tmp_path / "data"
        gateway = start("--dev", "--data-dir", str(data))
        await gateway.wait_ready()
        valkey_pid = int((data / "valkey.pid").read_text())
        banner = gateway.out.read_text()
        key = banner.split("\n  service key ", 1)[1].split()[0]
        async with httpx.AsyncClient(base_url=gateway.url) as client:
            status = (
                await client.get("/v1/users/alice/unread", headers={"Authorization": f"Bearer {key}"})
            ).status_code
        code = gateway.terminate()
        expected_urls = [f"{gateway.url}/{page}" for page in ("demo", "dashboard", "", "openapi.json")]
        expected = (200, 0, True, [])
        assert expected == (
            status,
            code,
            process_gone(valkey_pid),
            [url for url in expected_urls if url not in banner],
        )

    async def test_refuses_to_start_without_keys(self, start: Start, redis_url: str) -> None:
        """Outside dev mode, no service key and no token key: exit 2 with the reason."""
        gateway = start("--redis-url", redis_url)
        code = gateway.process.wait(DEADLINE)
        expected = (2, True)
        assert expected == (code, "service API key" in gateway.err.read_text())


class TestStartupNeverHangs:
    async def test_port_in_use_exits_at_once(self, start: Start, redis_url: str) -> None:
        """The port is taken: uvicorn's bind fails, the lifespan stops, the process exits 3 within seconds."""
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            gateway = start(
                "--dev", "--redis-url", redis_url, "--port", str(taken.getsockname()[1])
            )  # the last --port wins
            started = time.monotonic()
            code = gateway.process.wait(DEADLINE)
        assert (3, True) == (code, time.monotonic() - started < 10)
        assert "address already in use" in gateway.err.read_text()

    async def test_unreachable_redis_exits_with_its_address(self, start: Start) -> None:
        """A Redis URL that answers nothing: exit 3 within seconds, naming the address (without its password)."""
        with socket.socket() as silent:  # accepts connections, never answers
            silent.bind(("127.0.0.1", 0))
            silent.listen()
            url = f"redis://:secret-pw@127.0.0.1:{silent.getsockname()[1]}/0"
            gateway = start("--dev", "--redis-url", url)
            started = time.monotonic()
            code = gateway.process.wait(DEADLINE)
        err = gateway.err.read_text()
        assert (3, True) == (code, time.monotonic() - started < 10)
        assert "cannot reach Redis at redis://:***@127.0.0.1" in err and "secret-pw" not in err


class TestLogs:
    async def test_ws_paths_are_logged_without_the_token(self, start: Start, redis_url: str) -> None:
        """Handshake and access lines of `/v1/ws?token=…` show `token=[redacted]`, however the key is spelt."""
        gateway = start("--redis-url", redis_url, "--api-key", SERVICE_KEY, "--jwt-secret", JWT_SECRET)
        await gateway.wait_ready()
        tokens = {"token": token("alice"), "%74oken": token("bob")}  # parse_qsl reads `%74oken` as `token`
        async with httpx.AsyncClient(base_url=gateway.url) as client:
            for key, value in tokens.items():
                async with connect(f"ws://127.0.0.1:{gateway.port}/v1/ws?{key}={value}") as ws:
                    assert '"welcome"' in str(await ws.recv())  # the token was read, so it was a credential
                await client.get(f"/v1/ws?{key}={value}")  # a plain GET goes to the access log
        code = gateway.terminate()
        logs = gateway.out.read_text() + gateway.err.read_text()
        expected = (
            0,
            sorted((kind, f"/v1/ws?{key}=[redacted]") for kind in ("GET", "WebSocket") for key in tokens),
            [],
        )
        assert expected == (
            code,
            sorted(re.findall(r'"(GET|WebSocket) (/v1/ws\?[^\s"]*)', logs)),
            [key for key, value in tokens.items() if value in logs],
        )

    async def test_refused_upgrades_are_logged_as_refused(self, start: Start, redis_url: str) -> None:
        """An upgrade closed with 4001 (bad token) or 4003 (foreign origin) is logged "[refused CODE]"."""
        gateway = start("--redis-url", redis_url, "--api-key", SERVICE_KEY, "--jwt-secret", JWT_SECRET)
        await gateway.wait_ready()
        url = f"ws://127.0.0.1:{gateway.port}/v1/ws"
        async with connect(f"{url}?token=garbage") as ws:
            await ws.wait_closed()
        async with connect(f"{url}?token={token('alice')}", origin="http://elsewhere.example") as ws:  # type: ignore[arg-type]
            await ws.wait_closed()
        async with connect(f"{url}?token={token('alice')}") as ws:
            assert '"welcome"' in str(await ws.recv())
        assert 0 == gateway.terminate()
        lines = [line for line in gateway.err.read_text().splitlines() if '"WebSocket /v1/ws' in line]
        assert ["[refused 4001]", "[refused 4003]", "[accepted]"] == [line.rsplit('" ', 1)[1] for line in lines]
