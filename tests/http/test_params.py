"""Parsing of JSON values into counters values (shared by the HTTP routes and the WebSocket ops)."""

from __future__ import annotations

from typing import Any

import pytest

from counters import Limits
from counters.errors import InvalidArgument
from counters.types import C2CMessage, Filter, GroupMessage
from gateway import params

LIMITS = Limits()


class TestFilter:
    @pytest.mark.parametrize(
        "value",
        [None, {}, {"type": 0, "group": None, "mark": 0, "has_mention": None}, {"group": ""}, {"has_mention": False}],
    )
    def test_defaults_normalize_to_one_filter(self, value: Any) -> None:
        """Absent, null, "" and false all normalize to the default filter (one subscription)."""
        assert Filter() == params.parse_filter(value)

    def test_set_fields_are_kept(self) -> None:
        """Set fields come through as typed values."""
        value = {"type": 2, "group": "work", "mark": 1 | 1 << 40, "has_mention": True, "extra": "ignored"}
        assert Filter(2, "work", 1 | 1 << 40, True) == params.parse_filter(value)

    @pytest.mark.parametrize(
        ("value", "message"),
        [
            ({"type": 3}, "filter.type must be 0, 1 or 2"),
            ({"type": True}, "filter.type must be 0, 1 or 2"),
            ({"type": 1.5}, "filter.type must be 0, 1 or 2"),
            ({"mark": 16}, "filter.mark"),
            ({"mark": "1"}, "filter.mark"),
            ({"has_mention": 1}, "filter.has_mention"),
            ({"group": 5}, "filter.group"),
            ([], "filter must be a JSON object"),
        ],
    )
    def test_strict_types(self, value: Any, message: str) -> None:
        """Wrong types and ranges are InvalidArgument naming the field."""
        with pytest.raises(InvalidArgument, match=message):
            params.parse_filter(value)

    def test_query_without_filter_parameters_is_no_filter(self) -> None:
        """A query string without filter parameters means the plain total."""
        assert params.parse_filter_query({"unrelated": "1"}) is None

    def test_query_values_are_converted(self) -> None:
        """Query strings become the same normalized filter."""
        query = {"type": "1", "mark": "2", "has_mention": "true", "group": "g"}
        assert Filter(1, "g", 2, True) == params.parse_filter_query(query)


class TestMessage:
    def test_c2c_defaults(self) -> None:
        """A C2C message needs id, from, to, timestamp; excluded defaults to false."""
        value = {"id": "m", "from": "bob", "to": "alice", "timestamp": 5, "excluded": None}
        assert C2CMessage("m", "bob", "alice", 5, False) == params.parse_message(value, LIMITS)

    def test_group_defaults(self) -> None:
        """A group message defaults timestamp 0, at [], at_all false, recipients null."""
        expected = GroupMessage("m", "bob", "g", 7, 0, False, frozenset(), False, None)
        assert expected == params.parse_message({"id": "m", "from": "bob", "group": "g", "seq": 7}, LIMITS)

    def test_group_lists(self) -> None:
        """at and recipients are deduplicated userID lists."""
        value = {"id": "m", "from": "bob", "group": "g", "seq": 7, "at": ["a", "a"], "recipients": ["a", "c", "a"]}
        message = params.parse_message(value, LIMITS)
        assert isinstance(message, GroupMessage)
        assert (frozenset({"a"}), ("a", "c")) == (message.at, message.recipients)


class TestArguments:
    def test_clean_defaults(self) -> None:
        """Clean positions default to 0 and bulk IDs pass."""
        assert params.Clean("", 0, 0) == params.parse_clean({"conversation": ""}, LIMITS)

    def test_marks_need_enable(self) -> None:
        """`enable` is required."""
        with pytest.raises(InvalidArgument, match="enable is required"):
            params.parse_marks({"conversations": ["c2c_a"], "mark": 1}, LIMITS)

    def test_conversations_are_deduplicated(self) -> None:
        """Repeated conversation IDs count once."""
        expected = params.RecvOpt(["c2c_a", "group_b"], 1)
        assert expected == params.parse_recv_opt(
            {"conversations": ["c2c_a", "group_b", "c2c_a"], "recv_opt": 1}, LIMITS
        )

    def test_list_items_are_named(self) -> None:
        """A bad list item is named by its index."""
        with pytest.raises(InvalidArgument, match=r"remove\[1\]"):
            params.parse_member_edit({"remove": ["a", "b c"]}, LIMITS)
