"""UserState's index of unread conversations stays equal to what a full scan would find."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from counters.types import Conversation, Filter, UserState

conversations = st.builds(
    Conversation,
    id=st.sampled_from(["c2c_a", "c2c_b", "group_g", "group_h"]),
    unread=st.integers(0, 3),
    mentions=st.integers(0, 1),
    recv_opt=st.sampled_from([0, 0, 1, 2]),
    marks=st.sampled_from([0, 1, 2, 3]),
    groups=st.sampled_from([(), ("work",), ("work", "home")]),
    read=st.integers(0, 2),
)
filters = st.builds(
    Filter,
    type=st.sampled_from([0, 1, 2]),
    group=st.sampled_from([None, "work", "home"]),
    mark=st.sampled_from([0, 1, 2]),
    has_mention=st.sampled_from([None, True, False]),
)


class TestUnreadIndex:
    @given(start=st.lists(conversations, max_size=4), changes=st.lists(conversations, max_size=12), flt=filters)
    def test_put_keeps_the_index_and_filter_totals_exact(
        self, start: list[Conversation], changes: list[Conversation], flt: Filter
    ) -> None:
        """After any sequence of new values, the index and every filter total match a full scan."""
        state = UserState(1, 0, {c.id: c for c in start if not c.empty})
        for conv in changes:
            state.put(conv)
        scan = sum(c.unread for c in state.conversations.values() if c.matches(flt))
        assert {cid for cid, c in state.conversations.items() if c.unread} == state.unread_ids
        assert scan == state.filter_total(flt)
        assert all(not c.empty for c in state.conversations.values())
