"""The protocol `reddot serve` runs lets go of the handshake once a connection is open."""

from __future__ import annotations

import gc
from collections.abc import Awaitable, Callable

from support.ws import Raw
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol


async def test_open_connections_hold_no_handshake(
    raw: Callable[..., Awaitable[Raw]], new_id: Callable[[str], str]
) -> None:
    conns = [await raw(new_id("hs")) for _ in range(3)]
    # type(), not isinstance(): a dead weakref.proxy among the objects raises on isinstance
    opened = [o for o in gc.get_objects() if issubclass(type(o), WebSocketsSansIOProtocol)]
    protocols = [p for p in opened if p.handshake_complete and not p.transport.is_closing()]
    assert len(protocols) >= 3
    assert not [p for p in protocols if hasattr(p, "request") or hasattr(p, "response")]
    for conn in conns:  # and they still answer
        reply = await conn.request("get_total")
        assert reply["ok"] and reply["total"] == 0, reply
