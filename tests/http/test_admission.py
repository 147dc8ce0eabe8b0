"""Idle or slow sockets cannot starve the gateway: a header deadline frees them, a cap keeps descriptors free."""

from __future__ import annotations

import contextlib
import gc
import resource
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest
from support.gateway import SERVICE_KEY, LiveServer, base_config
from support.processes import Gateway
from support.ws import user_token
from websockets.asyncio.client import connect

from gateway.http.admission import HEADER_SECONDS, AdmittingH11

IDLE_SOCKETS = 19_900
KEYS = ("--api-key", SERVICE_KEY, "--jwt-secret", "s" * 32)


@pytest.fixture
def gateway(tmp_path: Path, redis_url: str) -> Iterator[Gateway]:
    """A `reddot serve` process of its own (its own 20,000 descriptors)."""
    process = Gateway(tmp_path, "--redis-url", redis_url, *KEYS)
    yield process
    process.kill()


def open_idle(port: int, count: int) -> list[socket.socket]:
    """`count` TCP connections that never send a byte."""
    held = []
    for _ in range(count):
        sock = socket.socket()
        sock.setblocking(False)
        with contextlib.suppress(BlockingIOError):  # completes in the kernel's backlog; accepted when it can
            sock.connect(("127.0.0.1", port))
        held.append(sock)
    return held


class TestIdleSockets:
    async def test_idle_flood_is_shed_and_healthz_answers_again(self, gateway: Gateway) -> None:
        """19,900 idle sockets held open: within 20 s /healthz answers again, each answer in under 1 s."""
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # this test process holds the sockets
        await gateway.wait_ready()
        held = open_idle(gateway.port, IDLE_SOCKETS)
        try:
            started = time.monotonic()
            answered_at = None
            async with httpx.AsyncClient(base_url=gateway.url, timeout=1.0) as client:
                while time.monotonic() - started < 20:
                    try:
                        if (await client.get("/healthz")).status_code == 200:
                            answered_at = time.monotonic() - started
                            break
                    except httpx.TransportError:
                        pass  # refused or timed out while the idle ones hold the descriptors
                    await anyio.sleep(0.2)  # polling interval of a condition with a deadline
            assert answered_at is not None, "/healthz did not answer within 20 s"
            assert gateway.process.poll() is None
        finally:
            for sock in held:
                sock.close()
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    async def test_silent_connection_is_closed_after_the_header_deadline(self, gateway: Gateway) -> None:
        """A connection that sends nothing is closed by the server once the header deadline passes."""
        await gateway.wait_ready()
        with socket.create_connection(("127.0.0.1", gateway.port)) as sock:
            sock.settimeout(HEADER_SECONDS + 10)
            started = time.monotonic()
            assert b"" == sock.recv(1)  # the server closed it
            assert HEADER_SECONDS - 1 < time.monotonic() - started < HEADER_SECONDS + 5

    async def test_a_request_then_silence_is_closed_too(self, gateway: Gateway) -> None:
        """After a response, a kept-alive connection that sends no next request is closed as well."""
        await gateway.wait_ready()
        with socket.create_connection(("127.0.0.1", gateway.port)) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            sock.settimeout(HEADER_SECONDS + 10)
            received = b""
            while chunk := sock.recv(4096):  # the response, then b"" when the server closes
                received += chunk
            assert received.startswith(b"HTTP/1.1 200")


class TestUpgrades:
    async def test_a_websocket_upgrade_lets_go_of_the_http_protocol(self, redis_url: str) -> None:
        """After an upgrade nothing keeps the HTTP protocol alive (a pending header timer cost 5.7 KB a socket)."""
        with LiveServer(base_config(redis_url)) as server:
            async with connect(f"{server.ws_url}/v1/ws?token={user_token('admission-probe')}") as ws:
                await ws.recv()  # the welcome: the upgrade is done
                gc.collect()
                handed_over = [
                    p for p in gc.get_objects()
                    if isinstance(p, AdmittingH11) and p.transport.get_protocol() is not p
                ]  # fmt: skip
        assert [] == handed_over
