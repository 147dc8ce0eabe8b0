"""Helpers of the counting-rule tests: a conversation's counts, a new group chat, a refused call."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from counters.errors import ReddotError

NewId = Callable[[str], str]


async def unread(counters: Any, uid: str, cid: str) -> tuple[int, int]:
    """(unread, mentions) of one conversation."""
    conv = (await counters.snapshot(uid)).conversations.get(cid)
    return (conv.unread, conv.mentions) if conv else (0, 0)


async def group(counters: Any, new_id: NewId, members: list[str], kind: str = "Work") -> str:
    """A new group chat with these members; returns its ID."""
    gid = new_id("g")
    await counters.put_group(gid, kind)
    await counters.edit_members(gid, members, [])
    return gid


async def fails_without_change(counters: Any, uid: str, call: Awaitable[object]) -> type[ReddotError]:
    """Await a call that must raise; check it changed nothing of `uid`; return the error class."""
    before = await counters.snapshot(uid)
    with pytest.raises(ReddotError) as error:
        await call
    assert before == await counters.snapshot(uid)
    return type(error.value)
