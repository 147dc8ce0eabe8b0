"""A lean keep-alive HTTP/1.1 client: the load driver must cost far less CPU than what it measures."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any
from urllib.parse import urlsplit

import orjson


class HttpError(RuntimeError):
    """A reply with a status of 300 or more."""

    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(f"HTTP {status}: {body[:200]!r}")
        self.status = status


class HttpPool:
    """A fixed number of keep-alive connections to one server; each request borrows one."""

    def __init__(self, base_url: str, api_key: str, size: int = 8) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.auth = f"Bearer {api_key}"
        self.size = size
        self._idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter] | None] = asyncio.Queue()
        for _ in range(size):
            self._idle.put_nowait(None)  # a slot whose connection opens on first use

    async def request(self, method: str, path: str, body: object = None, timeout: float = 60.0) -> Any:
        """Send one request and return the decoded JSON reply (None for an empty body)."""
        conn = await self._idle.get()
        try:
            async with asyncio.timeout(timeout):
                if conn is not None:
                    try:
                        status, data = await self._exchange(conn, method, path, body)
                    except (asyncio.IncompleteReadError, ConnectionError):
                        # The server closed an idle keep-alive connection; every request here may be repeated.
                        conn[1].close()
                        conn = None
                if conn is None:
                    conn = await asyncio.open_connection(self.host, self.port)
                    status, data = await self._exchange(conn, method, path, body)
        except BaseException:
            if conn is not None:
                conn[1].close()
            self._idle.put_nowait(None)
            raise
        self._idle.put_nowait(conn)
        if status >= 300:
            raise HttpError(status, data)
        return orjson.loads(data) if data else None

    async def _exchange(
        self, conn: tuple[asyncio.StreamReader, asyncio.StreamWriter], method: str, path: str, body: object
    ) -> tuple[int, bytes]:
        reader, writer = conn
        payload = b"" if body is None else orjson.dumps(body)
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nAuthorization: {self.auth}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
        )
        writer.write(head.encode() + payload)
        lines = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.lower() == "content-length":
                length = int(value)
        return status, await reader.readexactly(length) if length else b""

    async def close(self) -> None:
        """Close every open connection."""
        while not self._idle.empty():
            conn = self._idle.get_nowait()
            if conn is not None:
                conn[1].close()
                with contextlib.suppress(Exception):
                    await conn[1].wait_closed()
