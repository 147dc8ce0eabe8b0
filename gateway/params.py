"""Decoded JSON (HTTP bodies, query strings, WebSocket ops) → validated counters values.

Every problem raises InvalidArgument naming the field. Optional fields may be absent or null;
unknown fields are ignored. Nothing here touches Redis.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from counters import (
    MAX_BULK,
    C2CMessage,
    C2CRecall,
    Filter,
    GroupMessage,
    GroupRecall,
    InvalidArgument,
    Limits,
    Message,
    Recall,
)
from counters import validate as v

Body = Mapping[str, object]
T = TypeVar("T")

MAX_MESSAGES = 1000  # per POST /v1/messages
MAX_RECALLS = 1000  # per POST /v1/messages/recall
MAX_USERS = 10_000  # recipients, mentions, and members added or removed per request
MAX_GROUP_CONVERSATIONS = Limits().conversations_per_group
FILTER_TYPES = (0, 1, 2)


@dataclass(frozen=True, slots=True)
class Clean:
    """Arguments of a clean: one conversation or a bulk ID, and the position to clean up to."""

    conversation: str
    timestamp: int = 0
    sequence: int = 0


@dataclass(frozen=True, slots=True)
class RecvOpt:
    """Arguments of a receive-option change."""

    conversations: list[str]
    recv_opt: int


@dataclass(frozen=True, slots=True)
class Marks:
    """Arguments of a mark change: set (enable) or clear `mark` bits."""

    conversations: list[str]
    mark: int
    enable: bool


@dataclass(frozen=True, slots=True)
class NewConversationGroup:
    """Arguments of a conversation-group creation."""

    name: str
    conversations: list[str]


@dataclass(frozen=True, slots=True)
class Edit:
    """Members (or conversations) to add and to remove."""

    add: list[str]
    remove: list[str]


def required(body: Body, key: str, where: str = "") -> object:
    """A field that must be present and not null."""
    value = body.get(key)
    if value is None:
        raise InvalidArgument(f"{where}{key} is required")
    return value


def optional(body: Body, key: str, default: object) -> object:
    """A field that may be absent or null (then the default)."""
    value = body.get(key)
    return default if value is None else value


def obj(value: object, what: str) -> Body:
    """A JSON object."""
    if not isinstance(value, dict):
        raise InvalidArgument(f"{what} must be a JSON object")
    return value


def array(value: object, what: str, limit: int, low: int = 0) -> list[object]:
    """A JSON array of low..limit items."""
    if not isinstance(value, list):
        raise InvalidArgument(f"{what} must be an array")
    if not low <= len(value) <= limit:
        raise InvalidArgument(f"{what} holds {len(value)} items; {low}-{limit} are allowed")
    return value


def user_ids(value: object, what: str, limit: int = MAX_USERS) -> list[str]:
    """Distinct userIDs, order kept."""
    items = array(value, what, limit)
    return list(dict.fromkeys(v.user_id(item, f"{what}[{i}]") for i, item in enumerate(items)))


def conversations(value: object, what: str = "conversations", limit: int = MAX_BULK) -> list[str]:
    """Distinct conversation IDs, order kept."""
    items = array(value, what, limit)
    return list(dict.fromkeys(v.conversation(item, f"{what}[{i}]") for i, item in enumerate(items)))


# --- the IM backend's side -----------------------------------------------------------


def _batch(body: Body, limit: int, parse: Callable[[object, str], T]) -> list[T]:
    """`{"messages": [...]}` with 1 to `limit` items, each parsed with its index in error messages."""
    items = array(required(body, "messages"), "messages", limit, low=1)
    return [parse(item, f"messages[{i}]") for i, item in enumerate(items)]


def parse_messages(body: Body) -> list[Message]:
    """`{"messages": [M, …]}` with 1-1000 messages."""
    return _batch(body, MAX_MESSAGES, parse_message)


def parse_message(value: object, what: str = "message") -> Message:
    """A C2C message (has `to`) or a group message (has `group`)."""
    msg = obj(value, what)
    where = f"{what}."
    mid = v.message_id(required(msg, "id", where), f"{where}id")
    sender = v.user_id(required(msg, "from", where), f"{where}from")
    excluded = v.flag(optional(msg, "excluded", False), f"{where}excluded")
    if (msg.get("to") is None) == (msg.get("group") is None):
        raise InvalidArgument(f"{what} needs exactly one of `to` (C2C) or `group` (group message)")
    if msg.get("to") is not None:
        timestamp = v.timestamp(required(msg, "timestamp", where), f"{where}timestamp")
        return C2CMessage(mid, sender, v.user_id(msg["to"], f"{where}to"), timestamp, excluded)
    recipients = msg.get("recipients")
    return GroupMessage(
        id=mid,
        sender=sender,
        group=v.group_id(msg["group"], f"{where}group"),
        seq=v.sequence(required(msg, "seq", where), f"{where}seq"),
        timestamp=v.timestamp(optional(msg, "timestamp", 0), f"{where}timestamp"),
        excluded=excluded,
        at=frozenset(user_ids(optional(msg, "at", []), f"{where}at")),
        at_all=v.flag(optional(msg, "at_all", False), f"{where}at_all"),
        recipients=None if recipients is None else tuple(user_ids(recipients, f"{where}recipients")),
    )


def parse_recalls(body: Body) -> list[Recall]:
    """`{"messages": [R, …]}` with 1-1000 recalls."""
    return _batch(body, MAX_RECALLS, parse_recall)


def parse_recall(value: object, what: str = "recall") -> Recall:
    """`{"id", "group"}` or `{"id", "from", "to"}`."""
    rc = obj(value, what)
    where = f"{what}."
    mid = v.message_id(required(rc, "id", where), f"{where}id")
    if rc.get("group") is not None:
        return GroupRecall(mid, v.group_id(rc["group"], f"{where}group"))
    if rc.get("to") is None:
        raise InvalidArgument(f"{what} needs `group` (group message) or `from` and `to` (C2C)")
    return C2CRecall(mid, v.user_id(required(rc, "from", where), f"{where}from"), v.user_id(rc["to"], f"{where}to"))


def parse_group_type(body: Body) -> str:
    """`{"type": "Work"}`."""
    return v.group_type(required(body, "type"))


def parse_member_edit(body: Body) -> Edit:
    """`{"add": [userID…], "remove": [userID…]}`, each optional, at most 10000."""
    return Edit(user_ids(optional(body, "add", []), "add"), user_ids(optional(body, "remove", []), "remove"))


# --- the user's side -----------------------------------------------------------------


def parse_filter(value: object, what: str = "filter") -> Filter:
    """A filter object of docs/protocol.md §2, normalized (absent or null = the default)."""
    flt = obj(value if value is not None else {}, what)
    where = f"{what}." if what else ""
    kind = optional(flt, "type", 0)
    if not isinstance(kind, int) or isinstance(kind, bool) or kind not in FILTER_TYPES:
        raise InvalidArgument(f"{where}type must be 0, 1 or 2")
    group = optional(flt, "group", "")
    mention = flt.get("has_mention")
    if mention is not None and not isinstance(mention, bool):
        raise InvalidArgument(f"{where}has_mention must be true, false or null")
    return Filter(
        type=kind,
        group=None if group == "" else v.group_name(group, f"{where}group"),
        mark=v.mark(optional(flt, "mark", 0), f"{where}mark", allow_zero=True),
        has_mention=True if mention else None,
    )


def parse_filter_query(query: Mapping[str, str]) -> Filter | None:
    """The filter of `?type=&group=&mark=&has_mention=`, or None when no filter parameter is given."""
    if not any(key in query for key in ("type", "group", "mark", "has_mention")):
        return None
    values: dict[str, object] = {"group": query.get("group")}
    for key in ("type", "mark"):
        if key in query:
            values[key] = _query_int(query[key], key)
    if "has_mention" in query:
        values["has_mention"] = query_bool(query["has_mention"], "has_mention")
    return parse_filter(values, "")


def _query_int(text: str, what: str) -> int:
    # 20 digits hold every valid value (marks are 64-bit); int() of 4,301 or more raises ValueError.
    if not text.isascii() or not text.isdigit() or len(text) > 20:
        raise InvalidArgument(f"{what} must be a non-negative decimal integer of at most 20 digits")
    return int(text)


def query_bool(text: str | None, what: str, default: bool = False) -> bool:
    """`true`/`1` or `false`/`0` of a query string (absent: the default)."""
    if text is None:
        return default
    if text.lower() in ("true", "1"):
        return True
    if text.lower() in ("false", "0"):
        return False
    raise InvalidArgument(f"{what} must be true or false")


def parse_clean(body: Body) -> Clean:
    """`{"conversation", "timestamp", "sequence"}`; positions default to 0 (everything)."""
    conv = required(body, "conversation")
    is_bulk = isinstance(conv, str) and conv in v.BULK_CONVERSATIONS
    return Clean(
        conversation=str(conv) if is_bulk else v.conversation(conv),
        timestamp=v.timestamp(optional(body, "timestamp", 0)),
        sequence=v.sequence(optional(body, "sequence", 0), "sequence", low=0),
    )


def parse_recv_opt(body: Body) -> RecvOpt:
    """`{"conversations", "recv_opt"}` with at most 100 conversations."""
    return RecvOpt(conversations(required(body, "conversations")), v.recv_opt(required(body, "recv_opt")))


def parse_marks(body: Body) -> Marks:
    """`{"conversations", "mark", "enable"}`: a non-zero mask set (enable) or cleared."""
    return Marks(
        conversations(required(body, "conversations")),
        v.mark(required(body, "mark")),
        v.flag(required(body, "enable"), "enable"),
    )


def parse_new_conversation_group(body: Body) -> NewConversationGroup:
    """`{"name", "conversations"}` (conversations optional, at most 1000)."""
    members = conversations(optional(body, "conversations", []), limit=MAX_GROUP_CONVERSATIONS)
    return NewConversationGroup(v.group_name(required(body, "name")), members)


def parse_new_name(body: Body) -> str:
    """`{"new_name"}` of a rename."""
    return v.group_name(required(body, "new_name"), "new_name")


def parse_conversation_group_edit(body: Body) -> Edit:
    """`{"add": [...], "remove": [...]}`: at least one conversation in all."""
    add = conversations(optional(body, "add", []), "add", MAX_GROUP_CONVERSATIONS)
    remove = conversations(optional(body, "remove", []), "remove", MAX_GROUP_CONVERSATIONS)
    if not add and not remove:
        raise InvalidArgument("add or remove must name at least one conversation")
    return Edit(add, remove)
