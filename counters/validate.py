"""Checks of the identifiers and limits of docs/protocol.md §1; each failure is InvalidArgument.

The rules themselves (patterns, ranges, the phrases of the messages) live in counters/limits.py.
"""

from __future__ import annotations

from .errors import InvalidArgument
from .limits import (
    CONVERSATION,
    CONVERSATION_RULE,
    GROUP_TYPE_RULE,
    GROUP_TYPES,
    ID,
    ID_RULE,
    MAX_POSITION,
    MESSAGE_ID_CHARS,
    MESSAGE_ID_RULE,
    NAME_RULE,
    NO_CONTROL,
    RECV_OPTS,
    SET_MARK_RULE,
    is_mark,
    is_name,
)
from .types import C2CMessage, C2CRecall, Message, Recall


def user_id(value: object, what: str = "userID") -> str:
    """A userID or groupID: 1-64 of A-Z a-z 0-9 _ . @ # -."""
    if not isinstance(value, str) or not ID.search(value):
        raise InvalidArgument(f"{what} must be {ID_RULE}")
    return value


group_id = user_id


def conversation(value: object, what: str = "conversation") -> str:
    """A conversation ID: c2c_<userID> or group_<groupID>."""
    if not isinstance(value, str) or not CONVERSATION.search(value):
        raise InvalidArgument(f"{what} must be {CONVERSATION_RULE}")
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
    if not isinstance(value, str) or not 0 < len(value) <= MESSAGE_ID_CHARS or not NO_CONTROL.search(value):
        raise InvalidArgument(f"{what} must be {MESSAGE_ID_RULE}")
    return value


def group_name(value: object, what: str = "name") -> str:
    """A conversation-group name: 1-32 bytes of UTF-8, no control characters."""
    if not isinstance(value, str) or not is_name(value):
        raise InvalidArgument(f"{what} must be {NAME_RULE}")
    return value


def recv_opt(value: object) -> int:
    """A receive option, 0-4."""
    return integer(value, "recv_opt", RECV_OPTS.start, RECV_OPTS.stop)


def mark(value: object, what: str = "mark", allow_zero: bool = False) -> int:
    """A mark bitmask: bits 0-3 (STAR, UNREAD, FOLD, HIDE) and custom bits 32-63."""
    bits = integer(value, what, 0, 2**64)
    if not is_mark(bits, allow_zero):
        raise InvalidArgument(f"{what} must be {SET_MARK_RULE}")
    return bits


def group_type(value: object) -> str:
    """A group chat type of docs/protocol.md §1."""
    if not isinstance(value, str) or value not in GROUP_TYPES:  # a list or dict is not even hashable
        raise InvalidArgument(f"type must be {GROUP_TYPE_RULE}")
    return str(value)


def flag(value: object, what: str) -> bool:
    """A JSON boolean."""
    if not isinstance(value, bool):
        raise InvalidArgument(f"{what} must be true or false")
    return value


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
