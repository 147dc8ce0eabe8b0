"""uvicorn's access lines, safe and true: user tokens redacted, and refused WebSocket upgrades said so.

uvicorn writes each request path with its query (`/v1/ws?token=<JWT>`), and logs every upgrade the
app accepts as "[accepted]", including those the gateway accepts only to close with 4001 or 4003
(close codes need an open socket).
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from urllib.parse import unquote_plus

REDACTED = "[redacted]"  # ASCII: the access log goes to stdout, whose encoding may lack "…"
LOGGERS = ("uvicorn.access", "uvicorn.error")  # HTTP request lines; WebSocket handshakes (at info level)


class RedactTokens(logging.Filter):
    """Rewrites the value of every `token` query parameter in a record's arguments to `[redacted]`."""

    def filter(self, record: logging.LogRecord) -> bool:
        # The arguments, not the message: uvicorn's access formatter unpacks them by position.
        if isinstance(record.args, tuple):
            record.args = tuple(_redacted(arg) for arg in record.args)
        return True


REFUSING: ContextVar[int | None] = ContextVar("reddot_refusing", default=None)
"""Set by the WebSocket endpoint, in its own task, around the accept of an upgrade it will close at once."""


class MarkRefusals(logging.Filter):
    """Rewrites uvicorn's "[accepted]" to "[refused CODE]" for an upgrade accepted only to be closed."""

    def filter(self, record: logging.LogRecord) -> bool:
        # uvicorn logs the accept inside the endpoint's own `await ws.accept()`, so in its context.
        code = REFUSING.get()
        if code is not None and isinstance(record.msg, str) and record.msg.endswith("[accepted]"):
            record.msg = record.msg.removesuffix("[accepted]") + f"[refused {code}]"
        return True


_FILTERS = (RedactTokens(), MarkRefusals())


def install() -> None:
    """Filter uvicorn's loggers; calling again adds nothing, as a logger keeps one copy of a filter."""
    for name in LOGGERS:
        for log_filter in _FILTERS:
            logging.getLogger(name).addFilter(log_filter)


def _redacted(arg: object) -> object:
    # Only `token`'s value goes, so operators keep the other parameters of HTTP requests. Names are
    # compared decoded, as the endpoint reads them (`%74oken=` is a token too); any path counts, so a
    # token sent to a mistyped URL (`/v1/ws/`) is not logged either.
    if not isinstance(arg, str) or "?" not in arg:
        return arg
    path, _, query = arg.partition("?")  # uvicorn quotes the path, so its first "?" starts the query
    pairs = [pair.partition("=") for pair in query.split("&")]
    kept = [
        f"{name}={REDACTED}" if eq and unquote_plus(name) == "token" else name + eq + value for name, eq, value in pairs
    ]
    return f"{path}?{'&'.join(kept)}"
