"""Every limit and identifier rule of docs/protocol.md, in one place.

The identifier rules are fixed by the protocol: module constants, each pattern written once in the
ECMA-262 dialect that JSON Schema reads (anchored with `^…$`, and Python's `re` reads it the same way
through `python_pattern`), each with the phrase the error messages and the API schema use after
"must be". The sizes are tunable: one frozen `Limits` per running gateway, whose values every layer
reads (the counting core, the HTTP and WebSocket validation, the OpenAPI document).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# --- identifiers (docs/protocol.md §1) -------------------------------------------------

_ID = "[A-Za-z0-9_.@#-]{1,64}"
ID_PATTERN = f"^{_ID}$"
ID_RULE = "1-64 characters of A-Z a-z 0-9 _ . @ # -"
CONVERSATION_PATTERN = f"^(c2c|group)_{_ID}$"
CONVERSATION_RULE = "c2c_<userID> or group_<groupID>"
BULK_CONVERSATIONS = frozenset({"c2c", "group", ""})  # clean only: every C2C, every group, every conversation
CLEAN_PATTERN = f"^((c2c|group)(_{_ID})?)?$"  # a conversation ID or one of BULK_CONVERSATIONS
CLEAN_RULE = 'c2c_<userID>, group_<groupID>, or c2c, group or "" (every C2C, group or any conversation)'

COUNTING_GROUP_TYPES = frozenset({"Work", "Public", "Community"})
GROUP_TYPES = COUNTING_GROUP_TYPES | {"Meeting", "AVChatRoom"}
GROUP_TYPE_RULE = f"one of {', '.join(sorted(GROUP_TYPES))}"

# Unicode's control characters (category Cc) are exactly U+0000-U+001F and U+007F-U+009F.
NO_CONTROL_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]*$"
MESSAGE_ID_CHARS = 128
MESSAGE_ID_RULE = f"a string of 1-{MESSAGE_ID_CHARS} characters, no control characters"
NAME_BYTES = 32
NAME_RULE = f"1-{NAME_BYTES} bytes of UTF-8 without control characters"

MAX_POSITION = 2**53  # timestamps and sequences are below it (exact in a JSON double)
TIMESTAMP_RULE = "an integer with 0 <= timestamp < 2^53"
SEQUENCE_RULE = "an integer with 1 <= seq < 2^53"
POSITION_RULE = "an integer with 0 <= position < 2^53 (0: everything)"

RECV_OPTS = range(5)  # 0 receive, 1 not receive, 2 without notify, 3 notify only @, 4 not receive except @
RECV_OPT_RULE = "an integer from 0 to 4"
FILTER_TYPES = range(3)  # 0 any, 1 C2C, 2 group
FILTER_TYPE_RULE = "0, 1 or 2"

# Standard marks are bits 0-3 (STAR, UNREAD, FOLD, HIDE); bits 32-63 are the custom ones; 4-31 are reserved.
MARK_BITS = 0xF | (0xFFFFFFFF << 32)
MARK_MAX = 2**64 - 1
MARK_RULE = "a mask of bits 0-3 and 32-63 (0: none)"
SET_MARK_RULE = "a non-zero mask of bits 0-3 and 32-63"


def python_pattern(pattern: str) -> str:
    """The same pattern for Python's re.search: its `$` would also match before a final newline, `\\Z` does not."""
    return pattern.removesuffix("$") + r"\Z" if pattern.endswith("$") else pattern


ID = re.compile(python_pattern(ID_PATTERN))
CONVERSATION = re.compile(python_pattern(CONVERSATION_PATTERN))
NO_CONTROL = re.compile(python_pattern(NO_CONTROL_PATTERN))


def is_mark(value: int, allow_zero: bool = True) -> bool:
    """Whether an integer is a valid mark mask."""
    return 0 <= value <= MARK_MAX and not value & ~MARK_BITS and (allow_zero or value != 0)


def is_name(value: str) -> bool:
    """Whether a string is a valid conversation-group name."""
    try:
        size = len(value.encode())
    except UnicodeEncodeError:  # a lone surrogate, from Python (JSON and paths cannot carry one)
        return False
    return 0 < size <= NAME_BYTES and NO_CONTROL.search(value) is not None


# --- sizes ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Limits:
    """The tunable limits of one gateway; each default is the documented one."""

    # The counting core.
    position_cap: int = 10_000  # unread ids kept per conversation before the overflow fold
    tombstones: int = 10_000  # recalled ids remembered per user
    recipients_per_call: int = 100  # recipients one function call updates (keeps each call ~1 ms)
    calls_per_pipeline: int = 500  # function calls sent in one round trip
    groups_per_user: int = 20  # conversation groups of one user
    conversations_per_group: int = 1000  # conversations of one conversation group, and per add/remove of an edit
    # One request (docs/protocol.md §3-§4).
    messages_per_call: int = 1000  # messages of one POST /v1/messages
    recalls_per_call: int = 1000  # recalls of one POST /v1/messages/recall
    users_per_call: int = 10_000  # `recipients` and `at` of one message; `add` and `remove` of one members edit
    conversations_per_call: int = 100  # conversations of one recv-opt or marks change
    conversations_per_page: int = 1000  # conversations of one get_conversations page (its `limit`)
    # One WebSocket connection (docs/protocol.md §3).
    filters_per_connection: int = 32  # filter subscriptions
    frame_bytes: int = 64 * 1024  # bytes of one frame, either way

    def __post_init__(self) -> None:
        for name in self.__slots__:
            if getattr(self, name) < 1:
                raise ValueError(f"Limits.{name} must be at least 1")
