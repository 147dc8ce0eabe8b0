"""The one exception hierarchy of reddot; each error carries a docs/protocol.md §4 code."""

from __future__ import annotations


class ReddotError(Exception):
    """Base error: `code` is the protocol error code, `message` says what to fix."""

    code = "internal"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class InvalidArgument(ReddotError):
    """The input breaks a rule of docs/protocol.md; nothing was changed."""

    code = "invalid_argument"


class NotFound(ReddotError):
    """A named thing (group chat, conversation group) does not exist."""

    code = "not_found"


class Conflict(ReddotError):
    """The change clashes with existing state (a taken name, a fixed group type)."""

    code = "conflict"


class ResourceExhausted(ReddotError):
    """A per-user limit (conversation groups, group size) would be passed."""

    code = "resource_exhausted"


class Unavailable(ReddotError):
    """Redis could not be reached; retrying is safe because ingest is idempotent."""

    code = "unavailable"


class NewerLibrary(Unavailable):
    """The server holds a newer reddot library than this process's: it must not replace it."""


# Status codes returned by the Lua functions (counters/lua/_lib.lua).
_STATUS: dict[int, type[ReddotError]] = {-404: NotFound, -409: Conflict, -429: ResourceExhausted}


def check_status(result: object, messages: dict[type[ReddotError], str]) -> None:
    """Raise the exception a Lua status code stands for, with the caller's message for it."""
    if isinstance(result, int) and result in _STATUS:
        error = _STATUS[result]
        raise error(messages.get(error, f"the operation failed with status {result}"))
