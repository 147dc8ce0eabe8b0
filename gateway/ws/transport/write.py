"""Several text frames of one flush in one socket write, just below uvicorn's ASGI send.

uvicorn's send writes every frame with its own `transport.write`, a syscall each: ~40 % of a
pushing gateway's CPU (py-spy, fan-out). A flush often holds two frames for one connection (the
conversations and the total), so writing them together halves those syscalls. This takes the
same steps as uvicorn's websockets-sansio send for a text frame; anything else (another protocol
implementation, a paused or closing socket, frames together over 64 KiB) is left to the ASGI send,
which waits for a paused socket between frames: one write never puts more than one frame or 64 KiB
past the transport's high-water mark, as uvicorn's own send would not.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from websockets.exceptions import InvalidState

from gateway.compat import SansIOProtocol
from gateway.ws.close_codes import MAX_FRAME


def write_together(send: Any, texts: Sequence[str]) -> bool:
    """Write `texts` as frames in one write if `send` is uvicorn's sansio send and the socket takes it now.

    False: nothing was written, use the ASGI send (which waits for a paused socket, or raises for a
    gone one). OSError: the client is gone.
    """
    proto = getattr(send, "__self__", None)
    if not isinstance(proto, SansIOProtocol):
        return False
    if len(texts) > 1 and sum(map(len, texts)) > MAX_FRAME:  # a big flush: frame by frame, with back-pressure
        return False
    if (
        not proto.writable.is_set()  # paused: the ASGI send waits for the drain
        or proto.disconnected
        or proto.close_sent
        or not proto.handshake_complete
        or proto.initial_response is not None
        or proto.transport.is_closing()
    ):
        return False
    conn = proto.conn
    try:
        for text in texts:
            conn.send_text(text.encode())
    except InvalidState as error:  # the WebSocket is closing: as uvicorn's ClientDisconnected
        raise OSError("the client is gone") from error
    proto.transport.write(b"".join(conn.data_to_send()))
    return True


def abort(send: Any) -> None:
    """Drop the TCP connection under uvicorn's sansio `send` at once, unsent bytes and all."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is not None:
        transport.abort()
