"""What the API accepts: every request body (and WebSocket request) as a typed struct.

These types validate requests (gateway/params.py) and are the schemas of /openapi.json; the rules come
from counters/limits.py and the sizes from the running Limits (`Most`, see decoding.py). Optional fields
may be absent or null; unknown fields are ignored.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from msgspec import Meta, field

from counters import limits as lim

from .decoding import Body, Most, Scalar, Schema

# --- values ----------------------------------------------------------------------------

_NO_CONTROL = lim.python_pattern(lim.NO_CONTROL_PATTERN)
UserID = Annotated[str, Meta(pattern=lim.python_pattern(lim.ID_PATTERN), description=lim.ID_RULE)]
GroupID = UserID
ConversationID = Annotated[str, Meta(pattern=lim.CONVERSATION.pattern, description=lim.CONVERSATION_RULE)]
CleanTarget = Annotated[str, Meta(pattern=lim.python_pattern(lim.CLEAN_PATTERN), description=lim.CLEAN_RULE)]
_ID_SIZE = Meta(min_length=1, max_length=lim.MESSAGE_ID_CHARS)
MessageID = Annotated[str, _ID_SIZE, Meta(pattern=_NO_CONTROL, description=lim.MESSAGE_ID_RULE)]
Timestamp = Annotated[int, Meta(ge=0, lt=lim.MAX_POSITION, description=lim.TIMESTAMP_RULE)]
Sequence = Annotated[int, Meta(ge=1, lt=lim.MAX_POSITION, description=lim.SEQUENCE_RULE)]
Position = Annotated[int, Meta(ge=0, lt=lim.MAX_POSITION, description=lim.POSITION_RULE)]
RecvOptValue = Annotated[int, Meta(ge=lim.RECV_OPTS.start, lt=lim.RECV_OPTS.stop, description=lim.RECV_OPT_RULE)]
FilterType = Annotated[int, Meta(ge=lim.FILTER_TYPES.start, lt=lim.FILTER_TYPES.stop, description=lim.FILTER_TYPE_RULE)]
Users = Annotated[list[UserID], Most("users_per_call")]
GroupConversations = Annotated[list[ConversationID], Most("conversations_per_group")]


class Name(str, Scalar):
    """A conversation-group name (JSON Schema counts characters, the rule counts bytes of UTF-8)."""

    rule = lim.NAME_RULE
    schema: ClassVar[Schema] = {"type": "string", "minLength": 1, "maxLength": lim.NAME_BYTES, "pattern": _NO_CONTROL}

    @classmethod
    def valid(cls, value: Any) -> bool:
        """1-32 bytes of UTF-8, no control characters."""
        return isinstance(value, str) and lim.is_name(value)


class FilterGroup(str, Scalar):
    """A filter's conversation group: a name, or "" for none."""

    rule = f'{lim.NAME_RULE}, or "" (no filter)'
    schema: ClassVar[Schema] = {"type": "string", "maxLength": lim.NAME_BYTES, "pattern": _NO_CONTROL}

    @classmethod
    def valid(cls, value: Any) -> bool:
        """A name or ""."""
        return value == "" or Name.valid(value)


class Mark(int, Scalar):
    """A mark mask (JSON Schema cannot say that bits 4-31 are reserved)."""

    rule = lim.MARK_RULE
    schema: ClassVar[Schema] = {"type": "integer", "minimum": 0, "maximum": lim.MARK_MAX, "x-reserved-bits": "4-31"}

    @classmethod
    def valid(cls, value: Any) -> bool:
        """An unsigned 64-bit integer with bits 4-31 clear."""
        return isinstance(value, int) and not isinstance(value, bool) and lim.is_mark(value)


class SetMark(Mark):
    """The bits a mark change sets or clears: not none."""

    rule = lim.SET_MARK_RULE
    schema: ClassVar[Schema] = {**Mark.schema, "minimum": 1}

    @classmethod
    def valid(cls, value: Any) -> bool:
        """A non-zero mask."""
        return super().valid(value) and value != 0


class GroupType(str, Scalar):
    """A group chat's type."""

    rule = lim.GROUP_TYPE_RULE
    schema: ClassVar[Schema] = {"type": "string", "enum": sorted(lim.GROUP_TYPES)}

    @classmethod
    def valid(cls, value: Any) -> bool:
        """One of the protocol's group types."""
        return isinstance(value, str) and value in lim.GROUP_TYPES


# --- the IM backend's side -------------------------------------------------------------


class Message(Body):
    """A C2C message (`to`, `timestamp`) or a group message (`group`, `seq`): exactly one of `to` and `group`."""

    id: MessageID
    sender: UserID = field(name="from")
    to: UserID | None = None
    group: GroupID | None = None
    timestamp: Timestamp | None = None
    seq: Sequence | None = None
    excluded: bool | None = None
    at: Users | None = None
    at_all: bool | None = None
    recipients: Users | None = None  # replaces the group's members for this message

    json_schema: ClassVar[Schema] = {
        "oneOf": [
            {
                "title": "C2C message",
                "required": ["to", "timestamp"],
                "properties": {"to": {"type": "string"}, "timestamp": {"type": "integer"}, "group": {"type": "null"}},
            },
            {
                "title": "group message",
                "required": ["group", "seq"],
                "properties": {"group": {"type": "string"}, "seq": {"type": "integer"}, "to": {"type": "null"}},
            },
        ]
    }

    def __post_init__(self) -> None:
        if (self.to is None) == (self.group is None):
            raise ValueError("needs exactly one of `to` (C2C) or `group` (group message)")
        if self.to is not None and self.timestamp is None:
            raise ValueError(".timestamp is required")
        if self.group is not None and self.seq is None:
            raise ValueError(".seq is required")


class Messages(Body):
    """Messages to count."""

    messages: Annotated[list[Message], Most("messages_per_call", least=1)]


class Recall(Body):
    """Recall of a group message (`group`) or of a C2C message (`from` and `to`); `group` wins."""

    id: MessageID
    group: GroupID | None = None
    sender: UserID | None = field(default=None, name="from")
    to: UserID | None = None

    json_schema: ClassVar[Schema] = {
        "anyOf": [
            {"title": "group recall", "required": ["group"], "properties": {"group": {"type": "string"}}},
            {
                "title": "C2C recall",
                "required": ["from", "to"],
                "properties": {"from": {"type": "string"}, "to": {"type": "string"}},
            },
        ]
    }

    def __post_init__(self) -> None:
        if self.group is None and self.to is None:
            raise ValueError("needs `group` (group message) or `from` and `to` (C2C)")
        if self.group is None and self.sender is None:
            raise ValueError(".from is required")


class Recalls(Body):
    """Messages to recall."""

    messages: Annotated[list[Recall], Most("recalls_per_call", least=1)]


class GroupChat(Body):
    """A group chat's type (it never changes)."""

    type: GroupType


class MemberEdit(Body):
    """Members to add to and remove from a group chat."""

    add: Users | None = None
    remove: Users | None = None


# --- the user's side -------------------------------------------------------------------


class Filter(Body):
    """An unread filter (docs/protocol.md §2): absent, null (and "" for `group`) mean no filter."""

    type: FilterType | None = None
    group: FilterGroup | None = None
    mark: Mark | None = None
    has_mention: bool | None = None


class Clean(Body):
    """Mark read a conversation up to a position (0: everything), or every C2C, group or any conversation."""

    conversation: CleanTarget
    timestamp: Position | None = None  # C2C
    sequence: Position | None = None  # group


class RecvOpt(Body):
    """Set the receive option of conversations."""

    conversations: Annotated[list[ConversationID], Most("conversations_per_call")]
    recv_opt: RecvOptValue


class Marks(Body):
    """Set (enable) or clear mark bits on conversations."""

    conversations: Annotated[list[ConversationID], Most("conversations_per_call")]
    mark: SetMark
    enable: bool


class NewConversationGroup(Body):
    """Create a conversation group."""

    name: Name
    conversations: GroupConversations | None = None


class Rename(Body):
    """Rename a conversation group."""

    new_name: Name


class ConversationGroupEdit(Body):
    """Add conversations to and remove them from a conversation group: at least one in all."""

    add: GroupConversations | None = None
    remove: GroupConversations | None = None

    json_schema: ClassVar[Schema] = {
        "anyOf": [
            {"required": ["add"], "properties": {"add": {"type": "array", "minItems": 1}}},
            {"required": ["remove"], "properties": {"remove": {"type": "array", "minItems": 1}}},
        ]
    }

    def __post_init__(self) -> None:
        if not (self.add or self.remove):
            raise ValueError("add or remove must name at least one conversation")


class DevTokenRequest(Body):
    """The user a dev token is for."""

    user: UserID


# --- WebSocket requests (docs/protocol.md §3) that no HTTP body has ------------------------


class FilterRequest(Body):
    """get_unread_by_filter, subscribe_filter, unsubscribe_filter."""

    filter: Filter | None = None


class ListRequest(Body):
    """get_conversations (WebSocket) and GET /v1/users/{userID}/conversations: one page of the listing."""

    unread_only: bool | None = None
    limit: Annotated[int, Most("conversations_per_page", least=1, number=True)] | None = None
    cursor: Annotated[str, Meta(min_length=1, max_length=200, description="the next_cursor of a page")] | None = None


class NamedGroup(Body):
    """delete_conversation_group."""

    name: Name


class GroupRename(Body):
    """rename_conversation_group."""

    name: Name
    new_name: Name


class GroupConversationsEdit(Body):
    """add_to_conversation_group, remove_from_conversation_group."""

    name: Name
    conversations: Annotated[list[ConversationID], Most("conversations_per_group", least=1)]


class Refresh(Body):
    """refresh."""

    token: str
