"""The private library internals in gateway/compat.py, checked on live objects: a release that moves one fails here."""

from __future__ import annotations

import asyncio
import inspect

from redis.asyncio import Redis
from starlette.websockets import WebSocket
from support.gateway import LiveServer, base_config
from support.ws import user_token
from websockets.asyncio.client import connect

from gateway import compat
from gateway.ws import connection


class TestUvicornSansIO:
    def test_protocol_has_every_attribute_the_transport_uses(self) -> None:
        """uvicorn's websockets-sansio protocol still defines what keepalive and the batched write touch."""
        missing = [name for name in compat.SANSIO_ATTRIBUTES if not _defines(compat.SansIOProtocol, name)]
        assert [] == missing

    async def test_asgi_send_of_a_live_socket_is_the_sansio_protocol(self, redis_url: str) -> None:
        """On a served WebSocket, Starlette's `_send` is bound to uvicorn's sansio protocol, as the fast write needs."""
        seen: list[object] = []
        with LiveServer(base_config(redis_url)) as server:
            original = connection.asgi_send

            def spy(ws: WebSocket) -> object:
                send = original(ws)
                seen.append(getattr(send, "__self__", None))
                return send

            connection.asgi_send = spy  # type: ignore[assignment]  # the name the connection calls
            try:
                async with connect(f"{server.ws_url}/v1/ws?token={user_token('compat-probe')}") as ws:
                    await ws.recv()  # the welcome: written through the fast path
                    await ws.send('{"id": 1, "op": "ping"}')
                    await asyncio.wait_for(ws.recv(), 10)
            finally:
                connection.asgi_send = original
        assert seen and all(isinstance(proto, compat.SansIOProtocol) for proto in seen)


class TestUvicornH11:
    def test_protocol_has_every_attribute_admission_uses(self) -> None:
        """uvicorn's h11 protocol still defines what the connection admission overrides or reads."""
        assert [] == [name for name in compat.H11_ATTRIBUTES if not _defines(compat.H11Protocol, name)]


class TestRedisHiredis:
    async def test_buffered_replies_reads_a_pipelined_reply(self, redis_url: str) -> None:
        """With hiredis, a reply already in the buffer comes out of `buffered_replies` without another read."""
        client = Redis.from_url(redis_url)
        try:
            conn = client.connection_pool.make_connection()
            await conn.connect()
            # 1,000 small replies: the socket read behind the first reply takes in many more.
            await conn.send_packed_command(conn.pack_commands([("PING", str(i)) for i in range(1000)]))
            first = await conn.read_response()
            second = compat.buffered_replies(conn)()
            assert (b"0", b"1") == (first, second)
            await conn.disconnect()
        finally:
            await client.aclose()


def _defines(cls: type, name: str) -> bool:
    """A class attribute or method, or an instance attribute some method of the class assigns."""
    return hasattr(cls, name) or any(f"self.{name} =" in inspect.getsource(k) for k in cls.__mro__[:-1])
