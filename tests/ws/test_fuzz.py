"""Invariant 7 (docs/design.md) for sockets: whatever a client sends, it gets an answer or a close, never a crash."""

from __future__ import annotations

import os

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.gateway import LiveServer
from support.ws import user_token
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

EXAMPLES = int(os.environ.get("REDDOT_FUZZ_EXAMPLES", "150"))
OPS = [
    "get_total",
    "subscribe_filter",
    "unsubscribe_filter",
    "get_unread_by_filter",
    "get_conversations",
    "clean",
    "set_recv_opt",
    "mark",
    "create_conversation_group",
    "rename_conversation_group",
    "add_to_conversation_group",
    "remove_from_conversation_group",
    "delete_conversation_group",
    "get_conversation_groups",
    "refresh",
    "ping",
]
PROTOCOL_CLOSES = {1009, 4008}

json_value = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=20,
)
request = st.fixed_dictionaries(
    {"id": st.integers(-5, 10**6) | st.text(max_size=8), "op": st.sampled_from(OPS)},
    optional={
        name: json_value
        for name in (
            "filter",
            "conversation",
            "conversations",
            "timestamp",
            "sequence",
            "recv_opt",
            "mark",
            "enable",
            "name",
            "new_name",
            "token",
            "unread_only",
        )
    },
)
frame = st.one_of(
    request.map(lambda r: orjson.dumps(r).decode()),
    json_value.map(lambda v: orjson.dumps(v).decode()),
    st.just('{"id": 1, "op": "clean", "conversation": "c2c_a", "timestamp": 123456789012345678901234567890}'),
    st.text(max_size=200),
    st.binary(max_size=200),
)


# uvicorn's keepalive pings draw from the global `random` in the server's thread while Hypothesis
# generates data in this one; Hypothesis reads that as a strategy using `random`. It is not.
@pytest.mark.filterwarnings("ignore:Do not use the `random` module inside strategies")
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frames=st.lists(frame, min_size=1, max_size=8))
async def test_any_frames_get_replies_or_protocol_closes(ws_gateway: LiveServer, frames: list[str | bytes]) -> None:
    """Each frame is answered (ok or an error with a protocol code); the server stays up."""
    codes = {
        "invalid_argument",
        "not_found",
        "conflict",
        "resource_exhausted",
        "permission_denied",
        "unauthenticated",
        "unavailable",
    }
    user = f"fuzz-{os.getpid()}"
    async with connect(f"{ws_gateway.ws_url}/v1/ws?token={user_token(user)}") as ws:
        await ws.recv()  # welcome
        try:
            for raw in frames:
                await ws.send(raw)
                while "ok" not in (reply := orjson.loads(await ws.recv())):
                    pass  # a push, not the reply
                assert reply["ok"] or reply["error"]["code"] in codes, reply
        except ConnectionClosed as closed:
            assert closed.rcvd is not None and closed.rcvd.code in PROTOCOL_CLOSES, closed
    async with connect(f"{ws_gateway.ws_url}/v1/ws?token={user_token(user)}") as ws:
        await ws.recv()
        await ws.send('{"id": 1, "op": "ping"}')
        assert {"id": 1, "ok": True} == orjson.loads(await ws.recv())
