"""Decoding of the user hash and of change events into UserState and Conversation values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from .types import Conversation, UserState

# Field prefix in the user hash → Conversation attribute (keys.py documents the layout).
_CONV_FIELDS = {"n": "unread", "m": "mentions", "o": "recv_opt", "k": "marks", "g": "groups", "r": "read"}


def _value(attr: str, raw: str) -> object:
    if attr == "marks":
        return int(raw, 16)
    if attr == "groups":
        return tuple(raw.split("\n"))
    return int(raw)


def parse_user(fields: dict[str, str]) -> UserState:
    """Build a UserState from HGETALL of the user hash (one atomic read)."""
    convs: dict[str, dict[str, object]] = {}
    groups: dict[str, int] = {}
    for name, raw in fields.items():
        prefix, sep, rest = name.partition(":")
        if not sep:
            continue
        if prefix == "G":
            groups[rest] = int(raw)
        elif prefix in _CONV_FIELDS:
            attr = _CONV_FIELDS[prefix]
            convs.setdefault(rest, {})[attr] = _value(attr, raw)
    conversations = {cid: Conversation(cid, **vals) for cid, vals in convs.items()}  # type: ignore[arg-type]
    return UserState(int(fields.get("v", 0)), int(fields.get("t", 0)), conversations, groups)


def conversation_from_view(view: list[Any]) -> Conversation:
    """Decode one conversation view of an event: [id, unread, mentions, recv_opt, marks, read, groups]."""
    # Positional, trusting the types the Lua side writes (numbers, hex text, decimal text, text):
    # a bulk clean's event carries 100 views, and each gateway decodes every one.
    cid, unread, mentions, recv_opt, marks, read, groups = view
    return Conversation(
        cid, unread, mentions, recv_opt, int(marks, 16), tuple(groups.split("\n")) if groups else (), int(read)
    )


@dataclass(frozen=True, slots=True)
class Event:
    """One change event of a user: new ver, new total, the changed conversations, publish time, and the
    new size of each conversation group that changed (None: deleted)."""

    ver: int
    total: int
    published_ms: int
    conversations: tuple[Conversation, ...]
    groups: dict[str, int | None] | None = None


def parse_event(payload: bytes | str) -> Event:
    """Decode an event published by a Lua function."""
    data = orjson.loads(payload)
    views = data["c"] if isinstance(data["c"], list) else []  # cjson encodes an empty list as {}
    # Positional and map(): this runs once per event per gateway, on the push path.
    return Event(
        int(data["v"]), int(data["t"]), int(data["ms"]), tuple(map(conversation_from_view, views)), data.get("G")
    )
