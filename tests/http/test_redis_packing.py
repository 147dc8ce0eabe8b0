"""The gateway's Redis connections pack commands in C, byte for byte as redis-py would in Python."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from redis.asyncio.connection import Connection

from counters.connection import PackInC

Packed = type("PackedConnection", (PackInC, Connection), {})

arguments = st.lists(
    st.one_of(st.text(), st.binary(), st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=False)), max_size=12
)


def _joined(chunks: Sequence[bytes | memoryview]) -> bytes:
    return b"".join(bytes(c) for c in chunks)


class TestPackInC:
    @given(arguments)
    def test_any_fcall_packs_as_redis_py_packs_it(self, args: list[Any]) -> None:
        command = ("FCALL", "ingest", *args)
        assert _joined(Connection().pack_command(*command)) == _joined(Packed().pack_command(*command))

    def test_a_command_name_with_a_space_is_split(self) -> None:
        python, c = Connection(), Packed()
        for name in ("CONFIG GET", b"CONFIG GET"):
            assert _joined(python.pack_command(name, "maxmemory")) == _joined(c.pack_command(name, "maxmemory"))

    def test_a_memoryview_falls_back_to_python_packing(self) -> None:
        python, c = Connection(), Packed()
        value = memoryview(b"x" * 10)
        assert _joined(python.pack_command("SET", "k", value)) == _joined(c.pack_command("SET", "k", value))
