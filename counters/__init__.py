"""The counting core: every read and write of unread state in Redis, and nothing of HTTP or WebSocket.

This is its public API; the gateway and the load tool import from here, not from the modules.
"""

from . import keys, limits, validate
from .connection import connect
from .embedded import EmbeddedValkey
from .errors import Conflict, InvalidArgument, NotFound, ReddotError, ResourceExhausted, Unavailable
from .library import Client
from .limits import Limits
from .reports import drop_reports, read_reports, write_report
from .snapshot import Event, parse_event, parse_user
from .store import CLEAN_SLICE, Counters
from .types import (
    C2CMessage,
    C2CRecall,
    Conversation,
    Filter,
    GroupMessage,
    GroupRecall,
    Message,
    Recall,
    UserState,
)

__all__ = [
    "CLEAN_SLICE", "C2CMessage", "C2CRecall", "Client", "Conflict", "Conversation", "Counters", "EmbeddedValkey",
    "Event", "Filter", "GroupMessage", "GroupRecall", "InvalidArgument", "Limits", "Message", "NotFound", "Recall",
    "ReddotError", "ResourceExhausted", "Unavailable", "UserState", "connect", "drop_reports", "keys", "limits",
    "parse_event", "parse_user", "read_reports", "validate", "write_report",
]  # fmt: skip
