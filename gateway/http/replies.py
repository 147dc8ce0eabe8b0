"""What the API answers: every reply body as a typed struct, for the schemas of /openapi.json.

The handlers build these replies as plain dicts (orjson encodes them); these types only describe them,
with the same value types the requests use (gateway/params/bodies.py).
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from msgspec import Meta, Struct

from gateway.errors import STATUS
from gateway.params.bodies import ConversationID, GroupID, GroupType, Mark, Name, Position, RecvOptValue, UserID
from gateway.params.decoding import Most, Scalar, Schema

Count = Annotated[int, Meta(ge=0)]
ConversationType = Annotated[int, Meta(ge=1, le=2, description="1 C2C, 2 group")]


class ErrorCode(str, Scalar):
    """One of the protocol's error codes."""

    rule = "an error code of docs/protocol.md §4"
    schema: ClassVar[Schema] = {"type": "string", "enum": list(STATUS)}

    @classmethod
    def valid(cls, value: Any) -> bool:
        """A known code."""
        return value in STATUS


class ErrorBody(Struct):
    """What went wrong: `code` says what kind, `message` what to fix."""

    code: ErrorCode
    message: str


class Error(Struct):
    """Every error reply."""

    error: ErrorBody


class IngestResult(Struct):
    """One message: how many recipients' unread grew."""

    id: str
    counted: Count


class IngestResults(Struct):
    """Per message, in order."""

    results: list[IngestResult]


class RecallResult(Struct):
    """One recall: how many recipients still had the message unread."""

    id: str
    recalled: Count


class RecallResults(Struct):
    """Per recall, in order."""

    results: list[RecallResult]


class Group(Struct):
    """A group chat."""

    id: GroupID
    type: GroupType
    members: Count


class Total(Struct):
    """The total or a filter total, at `ver`."""

    total: Count
    ver: Count


class Conversation(Struct):
    """One conversation of a user."""

    id: ConversationID
    type: ConversationType
    unread: Count
    mentions: Count
    recv_opt: RecvOptValue
    marks: Mark
    groups: list[Name]
    read_timestamp: Position
    read_sequence: Position


class Conversations(Struct):
    """One page of a user's conversations, in ID order."""

    conversations: list[Conversation]
    ver: Count
    next_cursor: str | None  # pass it back as `cursor` for the next page; null: this was the last


class Cleaned(Struct):
    """How many messages a clean removed."""

    cleaned: Count
    ver: Count


class Ver(Struct):
    """The user's state version after a change."""

    ver: Count


class ConversationGroups(Struct):
    """A user's conversation-group names, sorted."""

    groups: Annotated[list[Name], Most("groups_per_user")]


class DevToken(Struct):
    """A short-lived user token (dev mode)."""

    token: str
    user: UserID
    expires_in: Count


class RouteSummary(Struct):
    """One operation of the gateway."""

    method: str
    path: str
    summary: str


class Index(Struct):
    """What this gateway serves: every route, and where its full description is."""

    service: str
    openapi: str
    docs: str
    routes: list[RouteSummary]


class Status(Struct):
    """Liveness or readiness."""

    status: str


class ServiceKey(Struct):
    """The service key (dev mode, for the demo)."""

    key: str


class DashboardStats(Struct):
    """The dashboard's figures of every gateway process and of Redis."""

    at: float
    totals: dict[str, Any]
    processes: list[dict[str, Any]]
    redis: dict[str, Any]
