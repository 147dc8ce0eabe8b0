"""Regression tests, through the HTTP API, for defects of the counting core first found there.

A group-message batch: each message leaves out only its own sender, so a member who sent an earlier
message of the same group in the batch still counts a later one (the fan-out once shared one member
set across the batch and dropped every sender from it).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from support.gateway import grp, ingest, make_group, unread

pytestmark = pytest.mark.anyio  # see test_service_routes.py


class TestGroupBatch:
    async def test_sender_of_one_message_counts_the_next(self, http: httpx.AsyncClient, users: Any) -> None:
        """In one batch, bob's message counts for alice and carol, then alice's message counts for bob and carol.

        counters.fanout.Fanout._ingest_calls discards each sender from the group's member set it
        shares across the batch, so later messages of the same group skip earlier senders.
        """
        alice, bob, carol, g = users("alice", "bob", "carol", "g")
        await make_group(http, g, [alice, bob, carol])
        counted = await ingest(http, grp("m1", bob, g, 1), grp("m2", alice, g, 2))
        expected = ([2, 2], 1)
        assert expected == (counted, await unread(http, bob))
