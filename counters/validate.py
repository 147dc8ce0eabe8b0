"""Checks of the identifiers and limits of docs/protocol.md §1; each failure is InvalidArgument."""

from __future__ import annotations

import re
import unicodedata

from .errors import InvalidArgument
from .types import GROUP_TYPES, C2CMessage, C2CRecall, Message, Recall

MAX_POSITION = 2**53
_ID = re.compile(r"[A-Za-z0-9_.@#\-]{1,64}")
_CONV = re.compile(r"(c2c|group)_([A-Za-z0-9_.@#\-]{1,64})")
BULK_CONVERSATIONS = frozenset({"c2c", "group", ""})
# Standard marks are bits 0-3; bits 32-63 are the custom ones. Bits 4-31 are reserved.
MARK_BITS = 0xF | (0xFFFFFFFF << 32)
MAX_MESSAGE_ID = 128


def user_id(value: object, what: str = "userID") -> str:
    """A userID or groupID: 1-64 of A-Z a-z 0-9 _ . @ # -."""
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise InvalidArgument(f"{what} must be 1-64 characters of A-Z a-z 0-9 _ . @ # -")
    return value


group_id = user_id


def conversation(value: object, what: str = "conversation") -> str:
    """A conversation ID: c2c_<userID> or group_<groupID>."""
    if not isinstance(value, str) or not _CONV.fullmatch(value):
        raise InvalidArgument(f"{what} must be c2c_<userID> or group_<groupID>")
    return value


def conversations(values: object, limit: int, what: str = "conversations") -> list[str]:
    """A list of distinct conversation IDs (duplicates dropped, order kept), at most `limit`."""
    if not isinstance(values, list):
        raise InvalidArgument(f"{what} must be a list of conversation IDs")
    if len(values) > limit:
        raise InvalidArgument(f"{what} holds {len(values)} IDs; at most {limit} are allowed")
    return list(dict.fromkeys(conversation(v, what) for v in values))


def integer(value: object, what: str, low: int, high: int) -> int:
    """An integer (not a bool) with low <= value < high."""
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value < high:
        raise InvalidArgument(f"{what} must be an integer with {low} <= {what} < {high}")
    return value


def timestamp(value: object, what: str = "timestamp") -> int:
    """Unix seconds, 0 <= t < 2^53."""
    return integer(value, what, 0, MAX_POSITION)


def sequence(value: object, what: str = "seq", low: int = 1) -> int:
    """A group message sequence, 1 <= seq < 2^53 (0 allowed where it means 'everything')."""
    return integer(value, what, low, MAX_POSITION)


def message_id(value: object, what: str = "id") -> str:
    """A message ID: 1-128 characters, no control characters."""
    if not isinstance(value, str) or not 0 < len(value) <= MAX_MESSAGE_ID or _has_control(value):
        raise InvalidArgument(f"{what} must be a string of 1-{MAX_MESSAGE_ID} characters, no control characters")
    return value


def group_name(value: object, what: str = "name") -> str:
    """A conversation-group name: 1-32 bytes of UTF-8, no control characters."""
    if not isinstance(value, str) or not 0 < len(value.encode()) <= 32 or _has_control(value):
        raise InvalidArgument(f"{what} must be 1-32 bytes of UTF-8 without control characters")
    return value


def recv_opt(value: object) -> int:
    """A receive option, 0-4."""
    return integer(value, "recv_opt", 0, 5)


def mark(value: object, what: str = "mark", allow_zero: bool = False) -> int:
    """A mark bitmask: bits 0-3 (STAR, UNREAD, FOLD, HIDE) and custom bits 32-63."""
    bits = integer(value, what, 0, 2**64)
    if (bits == 0 and not allow_zero) or bits & ~MARK_BITS:
        raise InvalidArgument(f"{what} must be a non-zero mask of bits 0-3 and 32-63")
    return bits


def group_type(value: object) -> str:
    """A group chat type of docs/protocol.md §1."""
    if not isinstance(value, str) or value not in GROUP_TYPES:  # a list or dict is not even hashable
        raise InvalidArgument(f"type must be one of {', '.join(sorted(GROUP_TYPES))}")
    return str(value)


def flag(value: object, what: str) -> bool:
    """A JSON boolean."""
    if not isinstance(value, bool):
        raise InvalidArgument(f"{what} must be true or false")
    return value


def _has_control(text: str) -> bool:
    return any(unicodedata.category(ch) == "Cc" for ch in text)


def message(msg: Message) -> None:
    """Every field of a message built in Python (the HTTP layer checks JSON types before)."""
    message_id(msg.id)
    user_id(msg.sender, "from")
    timestamp(msg.timestamp)
    if isinstance(msg, C2CMessage):
        user_id(msg.to, "to")
        return
    group_id(msg.group, "group")
    sequence(msg.seq)
    for uid in msg.at:
        user_id(uid, "at")
    for uid in msg.recipients or ():
        user_id(uid, "recipients")


def recall(rc: Recall) -> None:
    """Every field of a recall."""
    message_id(rc.id)
    if isinstance(rc, C2CRecall):
        user_id(rc.sender, "from")
        user_id(rc.to, "to")
    else:
        group_id(rc.group, "group")
