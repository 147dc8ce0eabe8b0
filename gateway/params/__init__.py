"""Requests (HTTP bodies and query strings, WebSocket ops) → validated counters values.

The shapes and rules are the typed structs of gateway/params/bodies.py, bound to the running Limits:
every problem raises InvalidArgument naming the field. Lists of IDs come back without duplicates,
in order. Nothing here touches Redis.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from counters import (
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

from . import bodies as b
from .decoding import reader

Data = bytes | Mapping[str, Any]
"""A request: the JSON bytes of an HTTP body, or a decoded WebSocket request."""


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


def distinct(items: Iterable[str] | None) -> list[str]:
    """Plain strings without duplicates, order kept."""
    return list(dict.fromkeys(map(str, items or ())))


# --- the IM backend's side -----------------------------------------------------------


def parse_messages(data: Data, limits: Limits) -> list[Message]:
    """`{"messages": [M, …]}`: 1 to limits.messages_per_call messages."""
    return [_message(m) for m in reader(limits).read(data, b.Messages).messages]


def parse_message(data: Data, limits: Limits, what: str = "message") -> Message:
    """One C2C message (has `to`) or group message (has `group`)."""
    return _message(reader(limits).read(data, b.Message, what))


def _message(m: b.Message) -> Message:
    excluded = bool(m.excluded)
    if m.to is not None:
        assert m.timestamp is not None  # Message.__post_init__ checked it
        return C2CMessage(m.id, m.sender, m.to, m.timestamp, excluded)
    assert m.group is not None and m.seq is not None  # Message.__post_init__ checked them
    recipients = None if m.recipients is None else tuple(distinct(m.recipients))
    at = frozenset(m.at) if m.at else frozenset()
    return GroupMessage(m.id, m.sender, m.group, m.seq, m.timestamp or 0, excluded, at, bool(m.at_all), recipients)


def parse_recalls(data: Data, limits: Limits) -> list[Recall]:
    """`{"messages": [R, …]}`: 1 to limits.recalls_per_call recalls."""
    return [_recall(r) for r in reader(limits).read(data, b.Recalls).messages]


def _recall(r: b.Recall) -> Recall:
    if r.group is not None:
        return GroupRecall(r.id, r.group)
    assert r.sender is not None and r.to is not None  # Recall.__post_init__ checked them
    return C2CRecall(r.id, r.sender, r.to)


def parse_group_type(data: Data, limits: Limits) -> str:
    """`{"type": "Work"}`."""
    return str(reader(limits).read(data, b.GroupChat).type)


def parse_member_edit(data: Data, limits: Limits) -> Edit:
    """`{"add": [userID…], "remove": [userID…]}`, each optional."""
    edit = reader(limits).read(data, b.MemberEdit)
    return Edit(distinct(edit.add), distinct(edit.remove))


def parse_dev_token(data: Data, limits: Limits) -> str:
    """`{"user": userID}`."""
    return reader(limits).read(data, b.DevTokenRequest).user


# --- the user's side -----------------------------------------------------------------


def parse_filter(value: Any, what: str = "filter") -> Filter:
    """A filter object of docs/protocol.md §2, normalized (absent or null = the default); no limit sizes it."""
    return _filter(reader(None).read({} if value is None else value, b.Filter, what))


def _filter(f: b.Filter) -> Filter:
    return Filter(
        type=f.type or 0,
        group=str(f.group) if f.group else None,
        mark=int(f.mark or 0),
        has_mention=True if f.has_mention else None,
    )


def parse_filter_request(data: Data) -> Filter:
    """The `filter` of a WebSocket request (absent or null: the default filter)."""
    f = reader(None).read(data, b.FilterRequest).filter
    return Filter() if f is None else _filter(f)


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


def parse_clean(data: Data, limits: Limits) -> Clean:
    """`{"conversation", "timestamp", "sequence"}`; positions default to 0 (everything)."""
    clean = reader(limits).read(data, b.Clean)
    return Clean(clean.conversation, clean.timestamp or 0, clean.sequence or 0)


def parse_recv_opt(data: Data, limits: Limits) -> RecvOpt:
    """`{"conversations", "recv_opt"}` with at most limits.conversations_per_call conversations."""
    args = reader(limits).read(data, b.RecvOpt)
    return RecvOpt(distinct(args.conversations), args.recv_opt)


def parse_marks(data: Data, limits: Limits) -> Marks:
    """`{"conversations", "mark", "enable"}`: a non-zero mask set (enable) or cleared."""
    args = reader(limits).read(data, b.Marks)
    return Marks(distinct(args.conversations), int(args.mark), args.enable)


def parse_new_conversation_group(data: Data, limits: Limits) -> NewConversationGroup:
    """`{"name", "conversations"}` (conversations optional, at most limits.conversations_per_group)."""
    args = reader(limits).read(data, b.NewConversationGroup)
    return NewConversationGroup(str(args.name), distinct(args.conversations))


def parse_new_name(data: Data, limits: Limits) -> str:
    """`{"new_name"}` of a rename."""
    return str(reader(limits).read(data, b.Rename).new_name)


def parse_conversation_group_edit(data: Data, limits: Limits) -> Edit:
    """`{"add": [...], "remove": [...]}`: at least one conversation in all."""
    edit = reader(limits).read(data, b.ConversationGroupEdit)
    return Edit(distinct(edit.add), distinct(edit.remove))


# --- WebSocket requests that no HTTP body has ----------------------------------------


@dataclass(frozen=True, slots=True)
class Page:
    """Which page of the conversations: only those with unread or all, how many, after which ID."""

    unread_only: bool
    limit: int
    after: str


def parse_page(data: Data, limits: Limits) -> Page:
    """`unread_only` (default true), `limit` (default the most a page holds) and `cursor` of a listing."""
    args = reader(limits).read(data, b.ListRequest)
    unread_only = True if args.unread_only is None else args.unread_only
    limit = limits.conversations_per_page if args.limit is None else args.limit
    return Page(unread_only, limit, args.cursor or "")


def parse_page_query(query: Mapping[str, str], limits: Limits) -> Page:
    """The page of `?unread_only=&limit=&cursor=`."""
    values: dict[str, object] = {"unread_only": query_bool(query.get("unread_only"), "unread_only", default=True)}
    if "limit" in query:
        values["limit"] = _query_int(query["limit"], "limit")
    if "cursor" in query:
        values["cursor"] = query["cursor"]
    return parse_page(values, limits)


def page_cursor(last_id: str | None) -> str | None:
    """The `next_cursor` after the conversation `last_id` (None: the listing is complete).

    It is that ID itself, and a page lists the IDs above its cursor: any string is a valid cursor, so
    a client can never hold one that is refused. Clients treat it as opaque all the same.
    """
    return last_id


def parse_group_name(data: Data, limits: Limits) -> str:
    """`name` of delete_conversation_group."""
    return str(reader(limits).read(data, b.NamedGroup).name)


def parse_group_rename(data: Data, limits: Limits) -> tuple[str, str]:
    """`name` and `new_name` of rename_conversation_group."""
    args = reader(limits).read(data, b.GroupRename)
    return str(args.name), str(args.new_name)


def parse_group_conversations(data: Data, limits: Limits) -> tuple[str, list[str]]:
    """`name` and `conversations` (at least one) of add_to_ and remove_from_conversation_group."""
    args = reader(limits).read(data, b.GroupConversationsEdit)
    return str(args.name), distinct(args.conversations)


def parse_token(data: Data, limits: Limits) -> str:
    """`token` of refresh."""
    return reader(limits).read(data, b.Refresh).token
