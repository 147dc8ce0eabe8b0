"""Helpers of the user-route tests: an inbox with unread of both kinds, a user's conversations by ID."""

from __future__ import annotations

from typing import Any

import httpx

from support.gateway import c2c, grp, ingest, make_group, ok


async def inbox(http: httpx.AsyncClient, users: Any) -> tuple[str, str, str]:
    """alice with 2 unread from bob (C2C) and 3 from group g (one mentions her): (alice, bob, g)."""
    alice, bob, g = users("alice", "bob", "g")
    await make_group(http, g, [alice, bob])
    await ingest(
        http,
        c2c("c1", bob, alice, 100),
        c2c("c2", bob, alice, 200),
        grp("g1", bob, g, 1),
        grp("g2", bob, g, 2, at=[alice]),
        grp("g3", bob, g, 3),
    )
    return alice, bob, g


async def listing(http: httpx.AsyncClient, user: str, unread_only: str = "true") -> dict[str, dict[str, Any]]:
    """The user's conversations by ID."""
    reply = await ok(http, "GET", f"/v1/users/{user}/conversations", params={"unread_only": unread_only})
    return {conv["id"]: conv for conv in reply["conversations"]}
