"""The reference model's input checks (docs/protocol.md §1), written out again so the model does not
borrow the implementation's: each raises `InvalidArgument`, as the counters API does, before any change."""

from __future__ import annotations

import re
import unicodedata

from counters import C2CMessage, C2CRecall, GroupMessage, GroupRecall, InvalidArgument

POSITION_END = 2**53
MARK_BITS = 0xF | (0xFFFFFFFF << 32)
_ID = re.compile(r"[A-Za-z0-9_.@#\-]{1,64}")
_CONV = re.compile(r"(?:c2c|group)_[A-Za-z0-9_.@#\-]{1,64}")


def user_id(value: object) -> None:
    """A user or group ID."""
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise InvalidArgument(f"bad ID {value!r}")


def conversation(value: object) -> None:
    if not isinstance(value, str) or not _CONV.fullmatch(value):
        raise InvalidArgument(f"bad conversation {value!r}")


def conversations(values: object, limit: int) -> list[str]:
    """A list of at most `limit` conversations; returns them once each, in order."""
    if not isinstance(values, list) or len(values) > limit:
        raise InvalidArgument(f"at most {limit} conversations")
    for value in values:
        conversation(value)
    return list(dict.fromkeys(values))


def integer(value: object, low: int, high: int = POSITION_END) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value < high:
        raise InvalidArgument(f"{value!r} is not an integer in [{low}, {high})")


def mark(value: object) -> None:
    integer(value, 1, 2**64)
    assert isinstance(value, int)
    if value & ~MARK_BITS:
        raise InvalidArgument("mark holds reserved bits")


def _text(value: object, limit: int) -> bool:
    return (
        isinstance(value, str) and 0 < len(value) <= limit and not any(unicodedata.category(ch) == "Cc" for ch in value)
    )


def name(value: object) -> None:
    """A conversation-group name: 1-32 bytes of UTF-8 without control characters."""
    if not _text(value, 32) or len(str(value).encode()) > 32:
        raise InvalidArgument(f"bad conversation-group name {value!r}")


def message(msg: object) -> None:
    if not isinstance(msg, C2CMessage | GroupMessage):
        raise InvalidArgument("not a message")
    if not _text(msg.id, 128):
        raise InvalidArgument(f"bad message id {msg.id!r}")
    user_id(msg.sender)
    integer(msg.timestamp, 0)
    if isinstance(msg, C2CMessage):
        user_id(msg.to)
        return
    user_id(msg.group)
    integer(msg.seq, 1)
    for uid in (*msg.at, *(msg.recipients or ())):
        user_id(uid)


def recall(rc: object) -> None:
    if not isinstance(rc, C2CRecall | GroupRecall):
        raise InvalidArgument("not a recall")
    if not _text(rc.id, 128):
        raise InvalidArgument(f"bad message id {rc.id!r}")
    for uid in (rc.sender, rc.to) if isinstance(rc, C2CRecall) else (rc.group,):
        user_id(uid)
